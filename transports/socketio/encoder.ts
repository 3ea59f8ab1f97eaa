/**
 * Server messages as socket.io events. Publications become the `message` event, one prebuilt frame
 * per publication shared by every socket.io subscriber of the namespace (pub.encoded); presence
 * pushes become `join`/`leave`; a subscription dropped by the server becomes `herald:unsub`, one the
 * application made (broker.subscribe) `herald:sub`; errors
 * without a command become `herald:error`. Replies never come here: socket.io acks carry the client's
 * packet id, which only socket.io knows, so the transport takes them through the session's reply
 * callback and hands them to the ack (index.ts).
 */
import type { Chunk, Encoder, Publication, ServerMessage } from '../../core/plugin.js';
import { eventFrame } from './packet.js';

export class SocketIoEncoder implements Encoder {
  readonly key: string;
  private readonly namespace: string;

  constructor(namespace: string) {
    this.namespace = namespace;
    this.key = `socketio:${namespace}`;
  }

  encode(message: ServerMessage): Chunk {
    // Commands reach the session without ids, so a reply can only mean a bug here, never a client's doing.
    if ('id' in message) throw new TypeError('socket.io replies go to their ack, not through the encoder');
    switch (message.op) {
      case 'msg':
        return eventFrame(this.namespace, 'message', { topic: message.topic, data: message.data, offset: message.offset, epoch: message.epoch });
      case 'join':
      case 'leave': {
        const { op, ...payload } = message;
        return eventFrame(this.namespace, op, payload);
      }
      case 'unsub':
        // The server dropped a subscription (UnsubReasons: `gap` -> subscribe again with `since`).
        return eventFrame(this.namespace, 'herald:unsub', { topic: message.topic, reason: message.reason });
      case 'sub': {
        // The application subscribed this connection (broker.subscribe); its messages follow.
        const { op, ...payload } = message;
        return eventFrame(this.namespace, 'herald:sub', payload);
      }
      default:
        return eventFrame(this.namespace, 'herald:error', message.error);
    }
  }

  publication(pub: Publication): Chunk {
    return pub.encoded(this.key, (p) => eventFrame(this.namespace, 'message', { topic: p.topic, data: p.data, offset: p.offset, epoch: p.epoch }));
  }
}
