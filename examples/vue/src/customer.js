// The few calls to the avatarcall server both views make: a call for this customer, and the
// call's own peer connection once an agent takes it.
import { CallLink } from '@avatarcall/sdk';

/** Ask the server for a call; resolves to its ticket ({call_id, token, ...}). */
export async function requestCall(name) {
  const response = await fetch('/api/calls', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: 'en', name }),
  });
  if (!response.ok) throw new Error((await response.json()).message ?? 'The call could not start.');
  return response.json();
}

/** The call's link to the agent, with its states as the page shows them. */
export function openCallLink(session, msg, localStream, { onStream, onState }) {
  const link = new CallLink(session, {
    callId: msg.call.call_id,
    polite: msg.polite,
    iceServers: session.iceServers.call,
    relayOnly: session.iceServers.relayOnly,
    localStream,
  });
  link.on('track', onStream);
  link.on('state', (state) => {
    if (state === 'connected') onState('connected');
    else if (state === 'disconnected' || state === 'failed') onState('reconnecting');
  });
  onState('connecting');
  return link;
}
