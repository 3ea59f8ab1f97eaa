/** What the standalone broker serves, for its listening line and its help. */

export interface EndpointPlan {
  readonly base: string;
  readonly dashboard: boolean;
  readonly metrics: boolean;
  readonly socketIoNamespaces: readonly string[];
  /** The MQTT TCP listener's URL, when it is on. */
  readonly mqttTcp?: string;
}

/** One `[what, url]` per path a user may call, in the order a newcomer looks for them. */
export function endpointList(plan: EndpointPlan): [string, string][] {
  const { base } = plan;
  const wsBase = base.replace(/^http/, 'ws');
  return [
    ...(plan.dashboard ? [['dashboard', `${base}/`] as [string, string]] : []),
    ['WebSocket', `${wsBase}/ws`],
    ['socket.io', `${base}/socket.io/ (namespaces ${plan.socketIoNamespaces.join(', ')})`],
    ['SSE', `${base}/events`],
    ['HTTP API', `${base}/api/publish`],
    ['MQTT', `${wsBase}/mqtt (MQTT over WebSocket, subprotocol mqtt)`],
    ...(plan.mqttTcp ? [['MQTT TCP', plan.mqttTcp] as [string, string]] : []),
    ['client', `${base}/client.js`],
    ...(plan.metrics ? [['metrics', `${base}/metrics`], ['ready', `${base}/readyz`]] as [string, string][] : []),
    ['health', `${base}/healthz`],
  ];
}

/** The endpoints as aligned lines under the listening message. */
export function endpointLines(endpoints: [string, string][]): string {
  const width = Math.max(...endpoints.map(([what]) => what.length));
  return endpoints.map(([what, url]) => `  ${what.padEnd(width)}  ${url}`).join('\n');
}
