// The report's VirtualAvatarService, rebuilt on @avatarcall/sdk. The avatar is rendered on the
// server and reaches this page on a peer connection of its own, beside the call's; the server
// decides what it shows in each phase (waiting, during the call, the conclusion). Nothing here
// has to stop it while the call runs: the two links never disturb each other.
import { AvatarSlot } from '@avatarcall/sdk';

export class VirtualAvatarService {
  /**
   * @param {import('@avatarcall/sdk').Session} session
   * @param {{onState?: (state: import('@avatarcall/sdk').AvatarState, code?: string) => void}} options
   */
  constructor(session, { onState = () => {} } = {}) {
    this.slot = new AvatarSlot(session);
    this.connectionState = this.slot.state;
    this.slot.on('state', ({ state, code }) => {
      this.connectionState = state;
      onState(state, code);
    });
  }

  /** Show the avatar in this element (call again when a re-render replaced it). */
  attach(video) {
    this.slot.attach(video ?? null);
  }

  /** The browser wanted a click before playing the avatar's voice: call from that click. */
  resume() {
    return this.slot.resume();
  }

  destroy() {
    this.slot.dispose();
  }
}
