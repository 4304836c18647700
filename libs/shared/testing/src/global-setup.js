// Integration and end-to-end suites need the real local PostgreSQL, Redis and Kafka; fail fast, and say how
// to start them, when one of them does not answer.
const net = require('node:net');

const services = [
  ['PostgreSQL', '127.0.0.1', 5432],
  ['Redis', '127.0.0.1', 6379],
  ['Kafka', '127.0.0.1', Number((process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0].split(':')[1])],
];

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

module.exports = async () => {
  const down = [];
  for (const [name, host, port] of services) if (!(await reachable(host, port))) down.push(`${name} (${host}:${port})`);
  if (down.length) throw new Error(`not reachable: ${down.join(', ')}; run \`npm run infra:up\` (npm test does it for you)`);
};
