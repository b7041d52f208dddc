# Sourced, not run: points the host build at the core component that scripts/build.sh builds, so that
# host/build.rs embeds that file instead of building the component a second time (see host/build.rs).
# Every script that builds or tests the host sources it, so all their cargo invocations agree and cargo
# does not rebuild the host between them.
tamis_target_dir="${CARGO_TARGET_DIR:-target}"
case "$tamis_target_dir" in
    /*) ;;
    *) tamis_target_dir="$PWD/$tamis_target_dir" ;;
esac
export TAMIS_EMBED_COMPONENT="$tamis_target_dir/wasm32-wasip2/release/tamis_component.wasm"
unset tamis_target_dir
