# Shared by the project's scripts (source it; it defines functions and sets nothing else).
# Pinned versions of what the scripts fetch, so a fresh machine gets what was measured.

TICKETING_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/ticketing"
TOOLS_VENV="$TICKETING_CACHE/tools-venv"
AMPLIFY_DYNAMODB_SIMULATOR_VERSION=2.9.30
AWS_SAM_CLI_VERSION=1.170.0
AWS_SES_V2_LOCAL_VERSION=2.10.2
LOCALSTRIPE_VERSION=1.15.10
# name==version of every Python tool the scripts use, installed into one cached venv.
TOOL_PINS=(
  cargo-lambda==1.9.2
  ziglang==0.17.1
  cfn-lint==1.58.0
  schemathesis==4.32.5
)

# sam_cli: puts the pinned SAM CLI on PATH, from its own cached venv (its pins of boto3,
# jsonschema and the like would fight the tools venv's).
sam_cli() {
  local venv="$TICKETING_CACHE/sam-venv-$AWS_SAM_CLI_VERSION"
  if [[ ! -x "$venv/bin/sam" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q "aws-sam-cli==$AWS_SAM_CLI_VERSION" || { rm -rf "$venv"; return 1; }
  fi
  export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0
}

# wait_for_port HOST PORT NAME SECONDS [PID]: returns once something accepts a TCP connection
# there; fails loudly after SECONDS, or as soon as PID (the server being waited for) has died.
wait_for_port() {
  local host=$1 port=$2 name=$3 seconds=$4 pid=${5:-} i
  for ((i = 0; i < seconds * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "[scripts] $name exited before it answered on $host:$port" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "[scripts] $name did not answer on $host:$port within $seconds s" >&2
  return 1
}

# tools_venv TOOL...: the cached venv with those tools at their pinned versions (installed or
# re-pinned when missing or at another version); puts its bin first on PATH.
tools_venv() {
  local tool pin wanted=()
  for tool in "$@"; do
    for pin in "${TOOL_PINS[@]}"; do
      if [[ "${pin%%==*}" == "$tool" ]]; then wanted+=("$pin"); fi
    done
  done
  [[ -x "$TOOLS_VENV/bin/python" ]] || python3 -m venv "$TOOLS_VENV" || return 1
  local missing=()
  for pin in "${wanted[@]}"; do
    local have
    have=$({ "$TOOLS_VENV/bin/pip" show "${pin%%==*}" 2>/dev/null || true; } | sed -n 's/^Version: //p')
    [[ "$have" == "${pin##*==}" ]] || missing+=("$pin")
  done
  if ((${#missing[@]})); then
    "$TOOLS_VENV/bin/pip" install -q "${missing[@]}" || return 1
  fi
  export PATH="$TOOLS_VENV/bin:$PATH"
}
