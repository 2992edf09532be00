#!/bin/sh
# Generate Foley: Rhythmic Foley for timeline files chosen in a file manager.
# Rhythmic Foley: installed by `foley install file-actions`; `foley uninstall file-actions` removes it.
#
# Runs `foley generate` on each timeline listed in NAUTILUS_SCRIPT_SELECTED_FILE_PATHS
# (GNOME Files' Scripts menu) or, without it, given as an argument (KDE Dolphin's
# service menu). Each new timeline goes beside its input as <name>.foley.<ext>.
# `foley`'s progress goes to the log below; a desktop notification (notify-send,
# where it is installed) says when each file starts, finishes or fails.
# FOLEY_ENGINE and FOLEY_ENGINE_TOKEN reach `foley` as they are; FOLEY_GENERATE_ARGS
# adds `foley generate` options separated by spaces (for example "--steps 50 --snap").

run_foley() { false; }  # written by `foley install file-actions`
LOG_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/rhythmic-foley"
LOG="$LOG_DIR/generate-foley.log"

# No file name or option is ever a pattern.
set -f

notify() {
    # A courtesy: without notify-send the log says everything.
    if command -v notify-send >/dev/null 2>&1; then
        notify-send --app-name="Rhythmic Foley" "$1" "$2" || true
    fi
}

if [ -n "${NAUTILUS_SCRIPT_SELECTED_FILE_PATHS:-}" ]; then
    # One absolute path a line; arguments would be names relative to the open folder.
    old_ifs=$IFS
    IFS='
'
    # shellcheck disable=SC2086  # split on newlines only
    set -- $NAUTILUS_SCRIPT_SELECTED_FILE_PATHS
    IFS=$old_ifs
fi

if [ "$#" -eq 0 ]; then
    notify "Generate Foley" "No file was selected."
    exit 2
fi

mkdir -p "$LOG_DIR"
failed=0
for timeline in "$@"; do
    name=$(basename -- "$timeline")
    case $(printf '%s' "$timeline" | tr '[:upper:]' '[:lower:]') in
        *.otio | *.otioz | *.xml | *.fcpxml | *.edl | *.aaf | *.kdenlive) ;;
        *)
            echo "$(date '+%F %T') $timeline: not a timeline (.otio .otioz .xml .fcpxml .edl .aaf .kdenlive); skipped" >>"$LOG"
            notify "Generate Foley: skipped $name" "Not a timeline file (.otio .otioz .xml .fcpxml .edl .aaf .kdenlive)."
            failed=1
            continue
            ;;
    esac
    notify "Generate Foley: $name" "Generating… progress in $LOG"
    echo "$(date '+%F %T') foley generate $timeline" >>"$LOG"
    # shellcheck disable=SC2086  # FOLEY_GENERATE_ARGS holds options separated by spaces
    run_foley generate "$timeline" ${FOLEY_GENERATE_ARGS:-} >>"$LOG" 2>&1
    case $? in
        0) notify "Generate Foley: $name done" "$(tail -n 1 "$LOG")" ;;
        3) notify "Generate Foley: $name done, some clips skipped" "Their media is missing; see $LOG" ;;
        *)
            failed=1
            notify "Generate Foley: $name failed" "$(tail -n 4 "$LOG")"
            ;;
    esac
done
exit "$failed"
