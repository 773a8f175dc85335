/**
 * A URL in free text (an error message, a log line, an outcome's detail), up to a space, quote,
 * backslash or angle bracket: scheme, optional userinfo, host and path, optional query and fragment.
 */
const URL_IN_TEXT =
  /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(?:[^\s/?#@"'\\<>]*@)?([^\s?#"'\\<>]*)(?:\?[^\s#"'\\<>]*)?(?:#[^\s"'\\<>]*)?/g;

/**
 * `text` with the userinfo (`user:password@`), query string and fragment of every URL in it
 * removed: credentials and tokens travel there (`https://user:pw@host/hook?token=...`), and an
 * outcome, a dead letter or a log line must not carry them (docs/triggers/README.md).
 */
export function redactUrls(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, '$1$2') : text;
}
