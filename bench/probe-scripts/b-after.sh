LC_ALL=C; export LC_ALL
_rp_stat() {
  if [ "$2" = 0 ] && [ -L "$1" ]; then
    stat -c 'symbolic link|%a|%U|%G|%u|%g|%s' -- "$1" && readlink -- "$1"
  elif [ -e "$1" ]; then
    _rp_t=$(stat -L -c '%F|%a|%U|%G|%u|%g|%s' -- "$1") || { echo error; return; }
    echo "$_rp_t"
    case "$_rp_t" in regular*) { sha256sum < "$1"; } 2>/dev/null | cut -d' ' -f1 ;; esac
  elif [ -L "$1" ]; then
    echo "symbolic link|0|-|-|0|0|0"; readlink -- "$1"
  else
    echo missing
  fi
}
_rp_content() {
  if [ -f "$1" ] && [ "$(stat -L -c %s -- "$1")" -le 1048576 ]; then base64 -w0 -- "$1"; echo; else echo '-'; fi
}
printf '\n@@rprov-29091x1-files\n'
_rp_files() {
  set --
  for _rp_p in /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc; do [ -L "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  [ $# -eq 0 ] || stat -c 'N|%F|%a|%U|%G|%u|%g|%s|%n' -- "$@" 2>/dev/null
  for _rp_p in /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc; do [ -L "$_rp_p" ] && printf 'L|%s|%s\n' "$_rp_p" "$(readlink -- "$_rp_p")"; done
  stat -L -c 'F|%F|%a|%U|%G|%u|%g|%s|%n' -- /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc /tmp/bench-b/rprov/h1/etc/sshd-bench.conf /tmp/bench-b/rprov/h1/etc/sudoers-bench /tmp/bench-b/rprov/h1/etc/motd /tmp/bench-b/rprov/h1/etc/journald-bench.conf /tmp/bench-b/rprov/h1/etc/limits.conf /tmp/bench-b/rprov/h1/etc/environment /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf 2>/dev/null
  set --
  for _rp_p in /tmp/bench-b/rprov/h1/etc/sshd-bench.conf /tmp/bench-b/rprov/h1/etc/sudoers-bench /tmp/bench-b/rprov/h1/etc/motd /tmp/bench-b/rprov/h1/etc/journald-bench.conf /tmp/bench-b/rprov/h1/etc/limits.conf /tmp/bench-b/rprov/h1/etc/environment /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf; do [ -f "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  for _rp_p in /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc; do [ -f "$_rp_p" ] && [ ! -L "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  [ $# -eq 0 ] || sha256sum -- "$@" 2>/dev/null
}
_rp_files

printf '\n@@rprov-29091x1-contents\n'
_rp_contents() {
{
  set --
  for _rp_p in /tmp/bench-b/rprov/h1/etc/limits.conf /tmp/bench-b/rprov/h1/etc/environment /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf; do [ -f "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  [ $# -eq 0 ] || stat -L -c '%s|%n' -- "$@" 2>/dev/null
} | while IFS='|' read -r _rp_s _rp_p; do
  [ "$_rp_s" -le 1048576 ] && { printf 'C|%s|' "$_rp_p"; base64 -w0 -- "$_rp_p"; echo; }
done
}
_rp_contents

printf '\n@@rprov-29091x1-0\n'
( getent group benchgrp
) </dev/null 2>/dev/null
printf '\n@@rprov-29091x1-1\n'
( _rp_o=$(getent passwd benchuser
)
[ -z "$_rp_o" ] || printf '%s\n' "$_rp_o"
echo '@@rprov-part@@'
_rp_o=$(id -gn benchuser 2>/dev/null
)
[ -z "$_rp_o" ] || printf '%s\n' "$_rp_o"
echo '@@rprov-part@@'
_rp_o=$(id -nG benchuser 2>/dev/null
)
[ -z "$_rp_o" ] || printf '%s\n' "$_rp_o"
echo '@@rprov-part@@'
_rp_o=$(_rp_p=$(getent shadow benchuser 2>/dev/null | cut -d: -f2); case "$_rp_p" in '') echo none;; '!'*) echo locked;; *) echo unlocked;; esac
)
[ -z "$_rp_o" ] || printf '%s\n' "$_rp_o"
) </dev/null 2>/dev/null
printf '\n@@rprov-29091x1-2\n'
( command -v apt-get >/dev/null || echo NOAPT
echo '@@rprov-part@@'
_rp_dpkg=$(dpkg-query -W -f='${Package}\t${Status}\t${Version}\n' -- openssh-server sudo 2>/dev/null)
printf '%s\n' "$_rp_dpkg"
echo '@@rprov-part@@'
_rp_need=''
for _rp_p in openssh-server sudo; do case "
$_rp_dpkg" in *"
$_rp_p	install ok installed"*) ;; *) _rp_need="$_rp_need $_rp_p" ;; esac; done
[ -z "$_rp_need" ] || apt-cache policy -- $_rp_need 2>/dev/null
echo '@@rprov-part@@'
echo '@@rprov-part@@'
echo '@@rprov-part@@'
echo '@@rprov-part@@'
echo '@@rprov-part@@'

) </dev/null 2>/dev/null
printf '\n@@rprov-29091x1-end\n'
