/**
 * Server messages as socket.io events. Publications become the `message` event, one prebuilt frame
 * per publication shared by every socket.io subscriber of the namespace (pub.encoded); presence
 * pushes become `join`/`leave`; a subscription dropped by the server becomes `herald:unsub`, one the
 * application made (broker.subscribe) `herald:sub`; errors
 * without a command become `herald:error`. Replies cannot be
 * prebuilt (socket.io acks carry the client's packet id, which only socket.io knows), so they wait in
 * `replies` and the connection hands each to its ack callback in stream order.
 */
import type { Chunk, Encoder, Publication, ServerMessage } from '../../core/plugin.js';
import { eventFrame } from './packet.js';

export type Reply = Extract<ServerMessage, { id: number }>;

/** The queue placeholder of a reply (frames are Buffers, so a string tells them apart). */
export const REPLY = '';

export class SocketIoEncoder implements Encoder {
  readonly key: string;
  readonly replies: Reply[] = [];
  private readonly namespace: string;

  constructor(namespace: string) {
    this.namespace = namespace;
    this.key = `socketio:${namespace}`;
  }

  encode(message: ServerMessage): Chunk {
    if ('id' in message) {
      this.replies.push(message);
      return REPLY;
    }
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
