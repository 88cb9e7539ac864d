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
printf '\n@@rprov-8384x1-files\n'
stat -L -c 'F|%F|%a|%U|%G|%u|%g|%s|%n' -- /tmp/bench-b/rprov/h1/etc/sshd-bench.conf /tmp/bench-b/rprov/h1/etc/sudoers-bench /tmp/bench-b/rprov/h1/etc/motd /tmp/bench-b/rprov/h1/etc/journald-bench.conf /tmp/bench-b/rprov/h1/etc/limits.conf /tmp/bench-b/rprov/h1/etc/environment /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf 2>/dev/null
stat -c 'N|%F|%a|%U|%G|%u|%g|%s|%n' -- /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc 2>/dev/null
for _rp_p in /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc; do [ -L "$_rp_p" ] && printf 'L|%s|%s\n' "$_rp_p" "$(readlink -- "$_rp_p")"; done
{ find -L /tmp/bench-b/rprov/h1/etc/sshd-bench.conf /tmp/bench-b/rprov/h1/etc/sudoers-bench /tmp/bench-b/rprov/h1/etc/motd /tmp/bench-b/rprov/h1/etc/journald-bench.conf /tmp/bench-b/rprov/h1/etc/limits.conf /tmp/bench-b/rprov/h1/etc/environment /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf -maxdepth 0 -type f -print0 2>/dev/null; find /tmp /tmp/bench-b /tmp/bench-b/rprov /tmp/bench-b/rprov/h1 /tmp/bench-b/rprov/h1/etc -maxdepth 0 -type f -print0 2>/dev/null; } | xargs -0 -r sha256sum -- 2>/dev/null | sed 's/^/H|/'

printf '\n@@rprov-8384x1-0\n'
( getent group benchgrp
) </dev/null 2>/dev/null
printf '\n@@rprov-8384x1-1\n'
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
printf '\n@@rprov-8384x1-2\n'
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
printf '\n@@rprov-8384x1-13\n'
_rp_content /tmp/bench-b/rprov/h1/etc/limits.conf
printf '\n@@rprov-8384x1-15\n'
_rp_content /tmp/bench-b/rprov/h1/etc/environment
printf '\n@@rprov-8384x1-17\n'
_rp_content /tmp/bench-b/rprov/h1/etc/sysctl-bench.conf
printf '\n@@rprov-8384x1-end\n'
