# Sourced, not run, by the bench scripts that time the release `tamis` with GNU time on copies of the web
# development set. Sets `tamis` (the binary), `data` (the shared data) and `work` (a temporary directory
# removed on exit), and defines `copy_dev_set COPIES DIR`. $bench names the calling script in messages.
tamis="${CARGO_TARGET_DIR:-target}/release/tamis"
if [ ! -x "$tamis" ]; then
    echo "$bench: $tamis not found: run scripts/build.sh" >&2
    exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "$bench: GNU time (/usr/bin/time) is missing: apt-get install time" >&2
    exit 1
fi
data="${TAMIS_SHARED_DATA:-../shared/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Real copies, not links: tamis lists a file reached twice only once.
copy_dev_set() { # copies, directory
    mkdir -p "$2"
    for i in $(seq 1 "$1"); do
        cp "$data/web/dev.jsonl.gz" "$2/dev-$i.jsonl.gz"
    done
}
