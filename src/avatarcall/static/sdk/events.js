// A tiny typed event emitter: each class documents its closed set of event names.
//
// SDK objects live happily in a framework's reactive state: their own fields are plain ones
// (no #private, which a Proxy cannot reach), and each is marked raw for Vue (what `markRaw`
// does), so `data()`, `ref()` and `reactive()` keep the object itself — its peer
// connections and media streams are never wrapped.

/** Mark ``object`` so that reactive frameworks keep it as it is (Vue's markRaw). */
export function keepRaw(object) {
  Object.defineProperty(object, '__v_skip', { value: true, configurable: true });
  return object;
}

export class Emitter {
  _handlers = new Map();
  _names;

  constructor(names) {
    keepRaw(this);
    this._names = new Set(names);
  }

  /** Call ``handler`` on each ``name`` event; returns the function that stops it. */
  on(name, handler) {
    if (!this._names.has(name)) throw new Error(`unknown event "${name}"`);
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(handler);
    return () => this._handlers.get(name)?.delete(handler);
  }

  emit(name, detail) {
    for (const handler of [...(this._handlers.get(name) ?? [])]) {
      try {
        handler(detail);
      } catch (err) {
        console.error(`[avatarcall] handler for "${name}" failed`, err);
      }
    }
  }

  /** Forget every handler (subclasses also stop their timers and links). */
  dispose() {
    this._handlers.clear();
  }
}

// One naming convention for everything the SDK takes and gives: camelCase (options, event
// payloads, the messages given to send()). The wire speaks snake_case; the session translates
// at the socket. WebRTC's own objects (an offer's description, an ICE candidate) cross as they
// are.
const AS_IS = new Set(['description', 'candidate']);

function recase(value, key) {
  if (Array.isArray(value)) return value.map((item) => recase(item, key));
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [name, inner] of Object.entries(value)) {
    out[key(name)] = AS_IS.has(name) ? inner : recase(inner, key);
  }
  return out;
}

/** A wire message (snake_case keys, at any depth) as the SDK hands it out (camelCase). */
export function fromWire(message) {
  return recase(message, (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()));
}

/** A message given to the SDK (camelCase) as the wire has it (snake_case). */
export function toWire(message) {
  return recase(message, (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

export class SdkError extends Error {
  constructor(code, message, retryable = false) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }
}
