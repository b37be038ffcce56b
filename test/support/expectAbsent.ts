// Asserts that secrets do not occur in some output, failing with where and which secret (by number) —
// never with the secret itself or the output around it, so a failing test leaks nothing into CI logs.

export function expectAbsent(haystack: string, secrets: readonly string[], where: string): void {
  secrets.forEach((secret, i) => {
    if (secret && haystack.includes(secret)) throw new Error(`${where}: secret #${i} appears`);
  });
}
