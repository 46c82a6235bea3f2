"""The snippets of `otchat shell-integration`: Alt-E turns the typed line into a command, unrun.

Each snippet binds Alt-E (ESC e) in the shell's current keymap (emacs by default) to a
function that hands the line typed so far to `otchat cmd -- LINE` and puts the command it
prints in place of the line, the cursor at its end, for the user to read, edit, and run
with Enter. Nothing is executed. Because stdout is captured, `otchat cmd` prints the bare
command and never shows its menu; stdin is /dev/null so it reads no context and cannot
swallow keys typed ahead; SHELL names the shell the snippet runs in (the login shell in
$SHELL may be another). On failure or an empty answer the line is left as it was and
otchat's error shows below it. A dim hint shows while the model thinks.
"""

from __future__ import annotations

SHELLS = ("bash", "zsh", "fish")

_HINT = "otchat: thinking..."  # ASCII: a multibyte hint garbles zle in a C locale

# bash ≥ 4 (READLINE_LINE). bash clears the line before a `bind -x` function runs and
# redraws prompt and line after it, so the hint sits at column 0 and is erased there;
# otchat's stderr is held in a file until then, so an error does not run into the hint.
_BASH = r"""# otchat: Alt-E turns the line typed so far into a shell command (not run).
# Add to ~/.bashrc:  eval "$(otchat shell-integration bash)"
_otchat_cmd() {
    [[ -n ${READLINE_LINE//[[:space:]]/} ]] || return 0
    local cmd rc err
    err=$(mktemp "${TMPDIR:-/tmp}/otchat.XXXXXX") || return 0
    [[ -t 2 ]] && printf '\e[2m%s\e[0m' 'HINT' >&2
    cmd=$(SHELL=$BASH otchat cmd -- "$READLINE_LINE" </dev/null 2>"$err")
    rc=$?
    [[ -t 2 ]] && printf '\r\e[K' >&2
    cat -- "$err" >&2
    rm -f -- "$err"
    if (( rc == 0 )) && [[ -n $cmd ]]; then
        READLINE_LINE=$cmd
        READLINE_POINT=${#cmd}
    fi
}
bind -x '"\ee": _otchat_cmd'
""".replace("HINT", _HINT)

# zle shows the hint and otchat's messages below the line itself (`zle -R`, `zle -M`).
_ZSH = r"""# otchat: Alt-E turns the line typed so far into a shell command (not run).
# Add to ~/.zshrc:  eval "$(otchat shell-integration zsh)"
_otchat_cmd_widget() {
    [[ -n ${BUFFER//[[:space:]]/} ]] || return 0
    local cmd rc err
    err=$(mktemp "${TMPDIR:-/tmp}/otchat.XXXXXX") || return 0
    zle -R 'HINT'
    cmd=$(SHELL=${commands[zsh]:-zsh} otchat cmd -- "$BUFFER" </dev/null 2>"$err")
    rc=$?
    if (( rc == 0 )) && [[ -n $cmd ]]; then
        BUFFER=$cmd
        CURSOR=${#BUFFER}
    fi
    [[ -s $err ]] && zle -M "$(<"$err")"
    rm -f -- "$err"
}
zle -N _otchat_cmd_widget
bindkey '\ee' _otchat_cmd_widget
""".replace("HINT", _HINT)

# fish does not clear the line first: the hint follows the typed text until the repaint.
_FISH = r"""# otchat: Alt-E turns the line typed so far into a shell command (not run).
# Add to ~/.config/fish/config.fish:  otchat shell-integration fish | source
function _otchat_cmd
    set -l line (commandline)
    string length -q -- (string trim -- "$line"); or return 0
    set -l dir /tmp
    test -n "$TMPDIR"; and set dir $TMPDIR
    set -l err (mktemp "$dir/otchat.XXXXXX"); or return 0
    test -t 2; and printf '\e[2m  %s\e[0m' 'HINT' >&2
    set -l cmd (env SHELL=(status fish-path) otchat cmd -- "$line" </dev/null 2>$err | string collect)
    set -l rc $pipestatus[1]
    test -t 2; and printf '\r\e[K' >&2
    cat -- $err >&2
    rm -f -- $err
    if test "$rc" = 0; and test -n "$cmd"
        commandline -r -- $cmd
        commandline -C (string length -- $cmd)
    end
    commandline -f repaint
end
bind \ee _otchat_cmd
""".replace("HINT", _HINT)

_SNIPPETS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def snippet(shell: str) -> str:
    """The snippet for `shell` ("bash", "zsh" or "fish"); ValueError for any other."""
    try:
        return _SNIPPETS[shell]
    except KeyError:
        raise ValueError(f"no shell integration for {shell!r} (choose from {', '.join(SHELLS)})") from None
