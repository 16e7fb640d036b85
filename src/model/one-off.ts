/** How the words of `berth run APP -- WORDS...` become the shell line a one-off container runs. */

/**
 * One word is a shell line as it is (`berth run APP -- 'rake db:migrate && rake seed'`), as
 * Heroku and Dokku take it; several are quoted one by one, so each reaches the command as the
 * argument it was on the client's command line, spaces and quotes included.
 */
export function shellLine(words: string[]): string {
  if (words.length === 1) return words[0];
  return words.map(quoteWord).join(' ');
}

function quoteWord(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
