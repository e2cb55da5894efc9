// avatarcall browser SDK: ES modules, no build step, no globals, no prototype patching.
export { PROTOCOL, Session } from './session.js';
export { Call } from './call.js';
export { CallLink } from './call-link.js';
export { AvatarLink } from './avatar-link.js';
export { AvatarSlot } from './avatar-slot.js';
export { OverlayAvatar } from './overlay.js';
export { BackoffPolicy } from './reconnect.js';
export { Telemetry } from './telemetry.js';
export { Emitter, SdkError, keepRaw } from './events.js';
