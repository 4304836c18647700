# Settings for `npm run up` (sourced). Every variable can be overridden from the environment.
export ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
export WEBHOOK_ALLOW_PRIVATE_ADDRESSES="${WEBHOOK_ALLOW_PRIVATE_ADDRESSES:-true}"  # merchants' test receivers run on this machine

# A merchant key pair (the connector signs with it) and the sandbox's own pair (it signs answers and
# notifications), made once per checkout: the local stand-ins for the keys of the Antom dashboard.
KEYS="$STATE/keys"
if [ ! -f "$KEYS/sandbox-public.pem" ]; then
  mkdir -p "$KEYS"
  for who in merchant sandbox; do
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/$who-private.pem" 2>/dev/null
    openssl pkey -in "$KEYS/$who-private.pem" -pubout -out "$KEYS/$who-public.pem"
  done
fi
export ALIPAY_BASE_URL="${ALIPAY_BASE_URL:-http://127.0.0.1:3010}"
export ALIPAY_CLIENT_ID="${ALIPAY_CLIENT_ID:-SANDBOX_UPM_LOCAL}"
export ALIPAY_PRIVATE_KEY_FILE="${ALIPAY_PRIVATE_KEY_FILE:-$KEYS/merchant-private.pem}"
export ALIPAY_PUBLIC_KEY_FILE="${ALIPAY_PUBLIC_KEY_FILE:-$KEYS/sandbox-public.pem}"
export ALIPAY_NOTIFY_URL="${ALIPAY_NOTIFY_URL:-http://127.0.0.1:3002/alipay/notify}"
export SANDBOX_PRIVATE_KEY_FILE="${SANDBOX_PRIVATE_KEY_FILE:-$KEYS/sandbox-private.pem}"
export SANDBOX_CLIENTS="${SANDBOX_CLIENTS:-$ALIPAY_CLIENT_ID=$KEYS/merchant-public.pem}"

# Report files as in production: the sandbox delivers each day's files on T+1 (its clock past 00:00 UTC+8) into
# the folder settlement polls, laid out as Alipay's SFTP account. POST /sandbox/reports still writes any day it is
# asked for (CONTRACTS.md §2), today's too; SANDBOX_REPORT_OPEN_DAYS=false refuses an open day, as Alipay would.
export SANDBOX_REPORT_DIR="${SANDBOX_REPORT_DIR:-$STATE/sandbox-reports}"
export SANDBOX_REPORT_DELIVERY="${SANDBOX_REPORT_DELIVERY:-true}"
export SETTLEMENT_REPORT_DIR="${SETTLEMENT_REPORT_DIR:-$SANDBOX_REPORT_DIR}"
