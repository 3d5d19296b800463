// Credentials that users put into repository URLs (`https://user:token@host/…`, the usual way
// to reach a private mirror from CI) must never reach a log, a report, a manifest or an
// artifact. Text about a repository is redacted where it is formed, and every sink (log lines,
// JUnit, the job summary) passes its text through here once more for what other programs
// (git's own messages) print.

// scheme://userinfo@ — userinfo has no '/', '@' or whitespace (RFC 3986), and may be empty of ':'.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"<>]+@/gi;

/** The text with the userinfo of every URL in it replaced by `***`. */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/** The secrets in a URL's userinfo (user and password, raw and decoded), for a log masker. */
export function credentialsIn(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const part of [parsed.username, parsed.password]) {
    if (!part) continue;
    out.add(part);
    try {
      out.add(decodeURIComponent(part));
    } catch {
      // A malformed escape: the raw form is the one that would be printed.
    }
  }
  return [...out];
}
