/** The local ports of CONTRACTS.md §4; the chart and compose file keep them so every environment looks alike. */
module.exports = {
  'terminal-gateway': 3000,
  'payment-orchestrator': 3001,
  'alipay-connector': 3002,
  settlement: 3003,
  notification: 3004,
  'alipay-sandbox': 3010,
};
