import type { CertificateInfo } from '../model/api.js';
import type { DeployOutput } from '../log/output.js';
import type { AppOperator } from './operator.js';

/** certs:*: an app's HTTPS certificate, got and renewed through ACME or brought by the operator. */
export class CertsService {
  constructor(private readonly operator: AppOperator) {}

  async info(name: string): Promise<CertificateInfo> {
    const app = await this.operator.get(name);
    return this.operator.deps.certs.info(app);
  }

  /** On: a certificate at once when the app has none that fits, its ACME exchange on `output`. */
  async auto(name: string, on: boolean, output: DeployOutput): Promise<CertificateInfo> {
    await this.operator.get(name);
    const { certs } = this.operator.deps;
    return on ? certs.enableAuto(name, (line) => output.info(line)) : certs.disableAuto(name);
  }

  async add(name: string, certPem: string, keyPem: string): Promise<CertificateInfo> {
    await this.operator.get(name);
    return this.operator.deps.certs.install(name, certPem, keyPem);
  }

  async remove(name: string): Promise<CertificateInfo> {
    await this.operator.get(name);
    return this.operator.deps.certs.remove(name);
  }
}
