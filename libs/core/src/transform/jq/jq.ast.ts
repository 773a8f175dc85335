/** The jq syntax tree, shared by the parser, the evaluator and the builtins. */

export class JqError extends Error {
  override name = 'JqError';
}

export type Node =
  | { t: 'identity' }
  | { t: 'recurse' }
  | { t: 'field'; of: Node; name: string; opt: boolean }
  | { t: 'index'; of: Node; idx: Node; opt: boolean }
  | { t: 'slice'; of: Node; from: Node | undefined; to: Node | undefined; opt: boolean }
  | { t: 'iterate'; of: Node; opt: boolean }
  | { t: 'try'; body: Node; catch: Node | undefined }
  | { t: 'lit'; value: unknown }
  | { t: 'str'; parts: (string | Node)[]; format: string | undefined }
  | { t: 'format'; name: string }
  | { t: 'array'; body: Node | undefined }
  | { t: 'object'; entries: { key: Node; value: Node | undefined }[] }
  | { t: 'pipe'; left: Node; right: Node }
  | { t: 'comma'; left: Node; right: Node }
  | { t: 'alt'; left: Node; right: Node }
  | { t: 'bin'; op: string; left: Node; right: Node }
  | { t: 'and' | 'or'; left: Node; right: Node }
  | { t: 'neg'; body: Node }
  | { t: 'if'; cond: Node; then: Node; else: Node | undefined }
  | { t: 'as'; src: Node; name: string; body: Node }
  | { t: 'reduce'; src: Node; name: string; init: Node; update: Node }
  | { t: 'var'; name: string }
  | { t: 'call'; name: string; args: Node[] }
  | { t: 'assign'; op: '=' | '|='; path: Node; value: Node };

export interface JqProgram {
  source: string;
  ast: Node;
}

export interface JqLimits {
  /** Max evaluation steps. Default 1 000 000. */
  maxSteps?: number;
  /** Max outputs collected. Default 10 000. */
  maxOutputs?: number;
  /** Wall-clock deadline in milliseconds. Default 2 000. */
  deadlineMs?: number;
  /** Max size of any value the program builds (approximate JSON bytes). Default 16 MiB. */
  maxValueBytes?: number;
}

/** Nesting limit of the parser (the evaluator allows four times as much). */
export const MAX_DEPTH = 128;
