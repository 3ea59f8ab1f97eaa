/**
 * text/event-stream blocks (WHATWG HTML §9.2). Every field value Herald writes is one line: JSON
 * escapes CR and LF inside strings and ids are base64url; `dataLines` still splits any line break so
 * that no value, whatever produced it, can end an event or start a forged `id:`/`event:` field.
 */
const LINE_BREAK = /\r\n|\r|\n/;

export function dataLines(text: string): string {
  return LINE_BREAK.test(text) ? text.split(LINE_BREAK).map((l) => `data: ${l}\n`).join('') : `data: ${text}\n`;
}

/** A named event (`event:` then data lines then the blank line). */
export function namedEvent(event: string, json: string, id?: string): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}${dataLines(json)}\n`;
}

export const HEARTBEAT = ':\n\n';
