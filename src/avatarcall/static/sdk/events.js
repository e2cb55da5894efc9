// A tiny typed event emitter: each class documents its closed set of event names.

export class Emitter {
  #handlers = new Map();
  #names;

  constructor(names) {
    this.#names = new Set(names);
  }

  on(name, handler) {
    if (!this.#names.has(name)) throw new Error(`unknown event "${name}"`);
    if (!this.#handlers.has(name)) this.#handlers.set(name, new Set());
    this.#handlers.get(name).add(handler);
    return () => this.#handlers.get(name).delete(handler);
  }

  emit(name, detail) {
    for (const handler of this.#handlers.get(name) ?? []) {
      try {
        handler(detail);
      } catch (err) {
        console.error(`[avatarcall] handler for "${name}" failed`, err);
      }
    }
  }
}

export class SdkError extends Error {
  constructor(code, message, retryable = false) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }
}
