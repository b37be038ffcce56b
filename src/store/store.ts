// The error stores throw when a unique value is already taken; use cases catch it (HTTP answers 409).

/** Thrown by stores when a unique value (waybill number, copy code, printer name …) is already taken. */
export class UniqueViolation extends Error {
  constructor(readonly what: string) {
    super(`${what} already exists`);
  }
}
