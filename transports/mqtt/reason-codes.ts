/**
 * MQTT reason codes (5.0 §2.4; 3.1.1 CONNACK return codes) for Herald's error codes and close
 * codes. docs/transports.md lists the mapping.
 */
import { CloseCodes, type ErrorCode } from '../../core/plugin.js';

export const Reason = {
  success: 0x00,
  grantedQos1: 0x01,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierInUse: 0x91,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  retainNotSupported: 0x9a,
  sharedSubscriptionsNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
} as const;

/** MQTT 3.1.1 CONNACK return codes. */
export const ConnackV4 = { accepted: 0, badProtocol: 1, identifierRejected: 2, serverUnavailable: 3, badCredentials: 4, notAuthorized: 5 } as const;

/** A refused command's reason in a PUBACK (publish) or SUBACK (subscribe). */
export function reasonOf(code: string, action: 'publish' | 'subscribe'): number {
  switch (code as ErrorCode) {
    case 'forbidden':
    case 'unauthorized':
      return Reason.notAuthorized;
    case 'invalid_topic':
      return action === 'publish' ? Reason.topicNameInvalid : Reason.topicFilterInvalid;
    case 'rate_limited': // PUBACK and SUBACK have no "message rate too high" (DISCONNECT has)
    case 'limit_exceeded':
      return Reason.quotaExceeded;
    case 'too_large':
      return action === 'publish' ? Reason.quotaExceeded : Reason.unspecified;
    case 'unavailable':
      return Reason.implementationSpecific;
    default:
      return Reason.unspecified;
  }
}

/** A session close code as the reason of a 5.0 DISCONNECT (after CONNACK) or CONNACK (before). */
export function reasonOfClose(code: number, connected: boolean): number {
  switch (code) {
    case CloseCodes.shuttingDown: return connected ? Reason.serverShuttingDown : Reason.serverUnavailable;
    case CloseCodes.unauthorized: return Reason.notAuthorized;
    case CloseCodes.slowConsumer: return Reason.quotaExceeded;
    case CloseCodes.rateLimited: return Reason.messageRateTooHigh;
    case CloseCodes.protocolViolation: return Reason.protocolError;
    // broker.disconnect (4002 may reconnect, 4003 must not): MQTT has one reason for both.
    case CloseCodes.disconnected:
    case CloseCodes.disconnectedForGood: return Reason.administrativeAction;
    case CloseCodes.tooLarge: return Reason.packetTooLarge;
    default: return Reason.unspecified;
  }
}

/** A 5.0 CONNACK reason as a 3.1.1 return code. */
export function connackV4Of(reason: number): number {
  switch (reason) {
    case Reason.success: return ConnackV4.accepted;
    case Reason.unsupportedProtocolVersion: return ConnackV4.badProtocol;
    case Reason.clientIdentifierNotValid: return ConnackV4.identifierRejected;
    case Reason.badUserNameOrPassword: return ConnackV4.badCredentials;
    case Reason.notAuthorized: return ConnackV4.notAuthorized;
    default: return ConnackV4.serverUnavailable;
  }
}
