import type { CertificateAuthority, IssuedCertificate } from '../../src/certs/acme.js';
import { makeCertificate } from './certificates.js';
import { Fake } from './fake.js';

/** An ACME server in a test: it issues self-signed certificates for what it is asked, at once, or fails when told to. */
export class FakeAuthority extends Fake<'issue'> implements CertificateAuthority {
  directory = 'https://acme.test/directory';
  /** How long what it issues is valid. */
  days = 90;

  async issue(names: string[], progress: (line: string) => void): Promise<IssuedCertificate> {
    this.enter('issue', names);
    progress(`fake ACME: issuing for ${names.join(', ')}`);
    const { chainPem, keyPem } = await makeCertificate(names, { days: this.days });
    return { chainPem, keyPem };
  }
}
