# Settings for `npm run up` (sourced). Every variable can be overridden from the environment.
export ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
export LOG_LEVEL="${LOG_LEVEL:-info}"
