/** A syntax error with the 0-based character position where it was found (message ends `at position N`). */
export class PositionedSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}
