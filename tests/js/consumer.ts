// What an integrator writes against the package: it must type-check as it stands, and the
// mistakes below must not (each `@ts-expect-error` fails the check if it stops being one).
import { AvatarSlot, Call, PROTOCOL, SdkError, Session, Telemetry, type AvatarState, type CallState } from '@avatarcall/sdk';

const session = new Session({ url: 'wss://calls.example.com/ws', token: 'a-customer-token' });
const slot = new AvatarSlot(session);
const telemetry = new Telemetry(session);

const stop = session.on('welcome', (welcome) => {
  const version: number = welcome.protocol;
  const servers: RTCIceServer[] = welcome.iceServersAvatar;
  slot.setIceServers(servers, welcome.relayOnly);
  console.log(version === PROTOCOL, welcome.assistant?.name);
});
session.on('closed', ({ code, reason }) => console.log(code, reason));
session.on('error', (error) => console.log(error.code, error.message));
slot.on('state', ({ state, code }) => {
  const shown: AvatarState = state;
  if (shown === 'needs-interaction') {
    document.querySelector('button')?.addEventListener('click', () => {
      slot.resume().catch((err: SdkError) => console.log(err.code));
    });
  }
  console.log(code);
});
slot.attach(document.querySelector('video'));
const stream: MediaStream | null = slot.stream;
console.log(stream);

async function mount(): Promise<void> {
  await session.connect();
  telemetry.setCall('call-1');
  telemetry.watchAvatarSlot(slot);
}

function unmount(): void {
  stop();
  telemetry.dispose();
  slot.dispose();
  session.dispose();
}

mount().then(unmount);

// @ts-expect-error: no such event
session.on('colsed', () => {});
// @ts-expect-error: a slot's state is one of its own
const wrong: AvatarState = 'playing';
console.log(wrong);
// @ts-expect-error: the options are camelCase
new Session({ resume_token: 'x' });

const call = new Call(session, { localStream: null });
call.on('state', (state: CallState) => console.log(state));
call.on('stream', (media: MediaStream) => console.log(media.id));
call.dispose();
session.send({ type: 'call.end', callId: 'call-1' });
