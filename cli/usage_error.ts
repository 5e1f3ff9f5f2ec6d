/** An error the user caused (bad flag, bad value): printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An error in the environment the user can fix (missing file, unreachable broker): exit code 1. */
export class UserFacingError extends Error {
  override name = "UserFacingError";
}
