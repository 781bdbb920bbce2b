# zsh -f zsh-capture.zsh <completion script> <command line>: prints what zsh's own completion
# system offers at the end of <command line>, one candidate a line, by typing the line and a Tab
# into an interactive zsh on a pseudo-terminal (zsh/zpty). After Valodim's zsh-capture-completion.
# $TMPDIR holds the compinit dump.
zmodload zsh/zpty || exit 3
zpty z zsh -f -i || exit 3
local line
setopt rcquotes
zpty -w z "PROMPT= ; autoload -Uz compinit; compinit -u -d '$TMPDIR/zcompdump'"
zpty -w z "source '$1'"
zpty -w z 'bindkey ''^I'' complete-word'
zpty -w z 'null-line () { echo -E - $''\0'' }; compprefuncs=( null-line ); comppostfuncs=( null-line exit )'
zpty -w z 'zstyle '':completion:*'' list-grouped false; zstyle '':completion:*'' insert-tab false'
# Every candidate compsys adds, printed instead of listed.
zpty -w z 'compadd () {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
    typeset -a __hits; builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- $__hits
}'
zpty -w z 'echo ok-ready'
repeat 20; do
    zpty -r z line || exit 4
    [[ $line == ok-ready* ]] && break
done
zpty -w z "$2"$'\t'
integer seen=0
while zpty -r z line; do
    if [[ $line == *$'\0'* ]]; then
        (( seen++ )) && exit 0 || continue
    fi
    (( seen )) && print -r -- ${${line%$'\n'}%$'\r'}
done
exit 2
