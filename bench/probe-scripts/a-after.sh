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
printf '\n@@rprov-29055x1-files\n'
_rp_files() {
  set --
  for _rp_p in /tmp /tmp/bench-a /tmp/bench-a/rprov /tmp/bench-a/rprov/h1 /tmp/bench-a/rprov/h1/etc /tmp/bench-a/rprov/h1/etc/conf.d /tmp/bench-a/rprov/h1/var /tmp/bench-a/rprov/h1/var/lib /tmp/bench-a/rprov/h1/var/log /tmp/bench-a/rprov/h1/share /tmp/bench-a/rprov/h1/share/doc; do [ -L "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  [ $# -eq 0 ] || stat -c 'N|%F|%a|%U|%G|%u|%g|%s|%n' -- "$@" 2>/dev/null
  for _rp_p in /tmp /tmp/bench-a /tmp/bench-a/rprov /tmp/bench-a/rprov/h1 /tmp/bench-a/rprov/h1/etc /tmp/bench-a/rprov/h1/etc/conf.d /tmp/bench-a/rprov/h1/var /tmp/bench-a/rprov/h1/var/lib /tmp/bench-a/rprov/h1/var/log /tmp/bench-a/rprov/h1/share /tmp/bench-a/rprov/h1/share/doc; do [ -L "$_rp_p" ] && printf 'L|%s|%s\n' "$_rp_p" "$(readlink -- "$_rp_p")"; done
  stat -L -c 'F|%F|%a|%U|%G|%u|%g|%s|%n' -- /tmp /tmp/bench-a /tmp/bench-a/rprov /tmp/bench-a/rprov/h1 /tmp/bench-a/rprov/h1/etc /tmp/bench-a/rprov/h1/etc/conf.d /tmp/bench-a/rprov/h1/var /tmp/bench-a/rprov/h1/var/lib /tmp/bench-a/rprov/h1/var/log /tmp/bench-a/rprov/h1/share /tmp/bench-a/rprov/h1/share/doc /tmp/bench-a/rprov/h1/etc/conf.d/01.conf /tmp/bench-a/rprov/h1/etc/conf.d/02.conf /tmp/bench-a/rprov/h1/etc/conf.d/03.conf /tmp/bench-a/rprov/h1/etc/conf.d/04.conf /tmp/bench-a/rprov/h1/etc/conf.d/05.conf /tmp/bench-a/rprov/h1/etc/conf.d/06.conf /tmp/bench-a/rprov/h1/etc/conf.d/07.conf /tmp/bench-a/rprov/h1/etc/conf.d/08.conf /tmp/bench-a/rprov/h1/etc/conf.d/09.conf /tmp/bench-a/rprov/h1/etc/conf.d/10.conf /tmp/bench-a/rprov/h1/etc/conf.d/11.conf /tmp/bench-a/rprov/h1/etc/conf.d/12.conf /tmp/bench-a/rprov/h1/etc/conf.d/13.conf /tmp/bench-a/rprov/h1/etc/conf.d/14.conf /tmp/bench-a/rprov/h1/etc/conf.d/15.conf /tmp/bench-a/rprov/h1/etc/conf.d/16.conf /tmp/bench-a/rprov/h1/etc/conf.d/17.conf /tmp/bench-a/rprov/h1/etc/conf.d/18.conf /tmp/bench-a/rprov/h1/etc/conf.d/19.conf /tmp/bench-a/rprov/h1/etc/conf.d/20.conf /tmp/bench-a/rprov/h1/etc/conf.d/21.conf /tmp/bench-a/rprov/h1/etc/conf.d/22.conf /tmp/bench-a/rprov/h1/share/doc/alpha.txt /tmp/bench-a/rprov/h1/share/doc/beta.txt /tmp/bench-a/rprov/h1/share/doc/gamma.txt /tmp/bench-a/rprov/h1/etc/debug.enabled /tmp/bench-a/rprov/h1/etc/metrics.enabled /tmp/bench-a/rprov/h1/share/static-1.txt /tmp/bench-a/rprov/h1/share/static-2.txt /tmp/bench-a/rprov/h1/share/static-3.txt /tmp/bench-a/rprov/h1/etc/app.conf /tmp/bench-a/rprov/h1/share/doc/app.conf.sample /tmp/bench-a/rprov/h1/etc/admins /tmp/bench-a/rprov/h1/share/doc/admins.sample /tmp/bench-a/rprov/h1/etc/limits.conf /tmp/bench-a/rprov/h1/share/doc/limits.conf.sample /tmp/bench-a/rprov/h1/etc/env.sh /tmp/bench-a/rprov/h1/share/doc/env.sh.sample /tmp/bench-a/rprov/h1/etc/motd /tmp/bench-a/rprov/h1/share/doc/motd.sample /tmp/bench-a/rprov/h1/etc/hosts.allow /tmp/bench-a/rprov/h1/share/doc/hosts.allow.sample /tmp/bench-a/rprov/h1/etc/service.ini /tmp/bench-a/rprov/h1/share/doc/service.ini.sample 2>/dev/null
  set --
  for _rp_p in /tmp/bench-a/rprov/h1/etc/conf.d/01.conf /tmp/bench-a/rprov/h1/etc/conf.d/02.conf /tmp/bench-a/rprov/h1/etc/conf.d/03.conf /tmp/bench-a/rprov/h1/etc/conf.d/04.conf /tmp/bench-a/rprov/h1/etc/conf.d/05.conf /tmp/bench-a/rprov/h1/etc/conf.d/06.conf /tmp/bench-a/rprov/h1/etc/conf.d/07.conf /tmp/bench-a/rprov/h1/etc/conf.d/08.conf /tmp/bench-a/rprov/h1/etc/conf.d/09.conf /tmp/bench-a/rprov/h1/etc/conf.d/10.conf /tmp/bench-a/rprov/h1/etc/conf.d/11.conf /tmp/bench-a/rprov/h1/etc/conf.d/12.conf /tmp/bench-a/rprov/h1/etc/conf.d/13.conf /tmp/bench-a/rprov/h1/etc/conf.d/14.conf /tmp/bench-a/rprov/h1/etc/conf.d/15.conf /tmp/bench-a/rprov/h1/etc/conf.d/16.conf /tmp/bench-a/rprov/h1/etc/conf.d/17.conf /tmp/bench-a/rprov/h1/etc/conf.d/18.conf /tmp/bench-a/rprov/h1/etc/conf.d/19.conf /tmp/bench-a/rprov/h1/etc/conf.d/20.conf /tmp/bench-a/rprov/h1/etc/conf.d/21.conf /tmp/bench-a/rprov/h1/etc/conf.d/22.conf /tmp/bench-a/rprov/h1/share/doc/alpha.txt /tmp/bench-a/rprov/h1/share/doc/beta.txt /tmp/bench-a/rprov/h1/share/doc/gamma.txt /tmp/bench-a/rprov/h1/etc/debug.enabled /tmp/bench-a/rprov/h1/etc/metrics.enabled /tmp/bench-a/rprov/h1/share/static-1.txt /tmp/bench-a/rprov/h1/share/static-2.txt /tmp/bench-a/rprov/h1/share/static-3.txt /tmp/bench-a/rprov/h1/etc/app.conf /tmp/bench-a/rprov/h1/share/doc/app.conf.sample /tmp/bench-a/rprov/h1/etc/admins /tmp/bench-a/rprov/h1/share/doc/admins.sample /tmp/bench-a/rprov/h1/etc/limits.conf /tmp/bench-a/rprov/h1/share/doc/limits.conf.sample /tmp/bench-a/rprov/h1/etc/env.sh /tmp/bench-a/rprov/h1/share/doc/env.sh.sample /tmp/bench-a/rprov/h1/etc/motd /tmp/bench-a/rprov/h1/share/doc/motd.sample /tmp/bench-a/rprov/h1/etc/hosts.allow /tmp/bench-a/rprov/h1/share/doc/hosts.allow.sample /tmp/bench-a/rprov/h1/etc/service.ini /tmp/bench-a/rprov/h1/share/doc/service.ini.sample; do [ -f "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  for _rp_p in /tmp /tmp/bench-a /tmp/bench-a/rprov /tmp/bench-a/rprov/h1 /tmp/bench-a/rprov/h1/etc /tmp/bench-a/rprov/h1/etc/conf.d /tmp/bench-a/rprov/h1/var /tmp/bench-a/rprov/h1/var/lib /tmp/bench-a/rprov/h1/var/log /tmp/bench-a/rprov/h1/share /tmp/bench-a/rprov/h1/share/doc; do [ -f "$_rp_p" ] && [ ! -L "$_rp_p" ] && set -- "$@" "$_rp_p"; done
  [ $# -eq 0 ] || sha256sum -- "$@" 2>/dev/null
}
_rp_files

printf '\n@@rprov-29055x1-end\n'
