# bash completion for wice(8).
#
# Interfaces come from the daemon (`wice show dump`), or from `wg show
# interfaces` for `wice add` and when no daemon answers; peers are the
# public keys of the interface named before them.  Works with and without
# the bash-completion package.

# --socket PATH when the command line names one.
_wice_socket_args=()

# A daemon that does not answer must not hang the shell.
_wice_daemon_dump() {
	timeout 2 wice show dump "${_wice_socket_args[@]}" 2>/dev/null
}

# The daemon's interfaces: the first field of the dump's interface lines,
# which have 4 fields (peer lines have more, the peer's key second).
_wice_daemon_interfaces() {
	_wice_daemon_dump | awk -F '\t' 'NF == 4 { print $1 }'
}

_wice_wg_interfaces() {
	timeout 2 wg show interfaces 2>/dev/null | tr ' ' '\n'
	timeout 2 wice interfaces 2>/dev/null | cut -f1
}

_wice_interfaces() {
	local names
	names=$(_wice_daemon_interfaces)
	[ -n "$names" ] || names=$(_wice_wg_interfaces)
	printf '%s\n' "$names" | sort -u
}

# _wice_peers IFACE: the public keys of IFACE's peers.
_wice_peers() {
	local keys
	keys=$(_wice_daemon_dump | awk -F '\t' -v ifname="$1" 'NF > 4 && $1 == ifname { print $2 }')
	[ -n "$keys" ] || keys=$(timeout 2 wg show "$1" peers 2>/dev/null)
	printf '%s\n' "$keys"
}

# _wice_compgen WORDS CUR: add the WORDS (blank-separated) that start
# with CUR.
_wice_compgen() {
	local word
	while IFS= read -r word; do
		[ -n "$word" ] && COMPREPLY+=("$word")
	done < <(compgen -W "$1" -- "$2")
}

_wice_files() {
	if declare -F _filedir >/dev/null; then
		_filedir
	else
		local IFS=$'\n'
		# shellcheck disable=SC2207
		COMPREPLY+=($(compgen -f -- "$cur"))
	fi
}

_wice() {
	local cur prev cmd i cword line
	local -a words args=()
	COMPREPLY=()
	# Words split at blanks only: COMP_WORDS would also split public keys
	# and addresses at '=' and ':'.
	line=${COMP_LINE:0:COMP_POINT}
	read -ra words <<<"$line"
	if [ "${#words[@]}" -eq 0 ] || [[ $line == *[[:space:]] ]]; then
		words+=("")
	fi
	cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	prev=
	[ "$cword" -gt 0 ] && prev=${words[cword - 1]}

	local commands="daemon show add delete restart ping netcheck sync monitor reload interfaces mesh signal-server version help"
	if [ "$cword" -eq 1 ]; then
		_wice_compgen "$commands --help" "$cur"
		return
	fi
	cmd=${words[1]}

	# A --socket given earlier on the line is where the daemon is asked.
	_wice_socket_args=()
	for ((i = 2; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket) _wice_socket_args=(--socket "${words[i + 1]}") ;;
		--socket=*) _wice_socket_args=("${words[i]}") ;;
		esac
	done
	# The positional arguments before the cursor.
	for ((i = 2; i < cword; i++)); do
		case ${words[i]} in
		-s | --socket | -c | --config | -l | --listen | --stun-port | --max-* | --*-timeout | --keepalive | \
			--challenge-ttl | --png | --secret-file | --new-secret-file | --state-dir | --hostname | --grace | \
			-i | --interface | --count)
			((i++)) ;;
		-*) ;;
		*) args+=("${words[i]}") ;;
		esac
	done

	# wice ping -c N: a count, not a file
	[ "$cmd" = ping ] && [ "$prev" = -c ] && return
	case $prev in
	-s | --socket)
		_wice_files
		return
		;;
	-c | --config | --png | --secret-file | --new-secret-file)
		_wice_files
		return
		;;
	--state-dir)
		compopt -o dirnames 2>/dev/null
		COMPREPLY=()
		return
		;;
	--hostname | --grace | -i | --interface | --count)
		return
		;;
	-l | --listen | --stun-port | --max-* | --*-timeout | --keepalive | --challenge-ttl)
		return
		;;
	esac

	local opts=
	case $cmd in
	daemon) opts="--config --socket --foreground --verbose --quiet --help" ;;
	show) opts="--json --socket --help" ;;
	monitor) opts="--json --socket --help" ;;
	add | delete | restart | sync | reload) opts="--socket --help" ;;
	ping) opts="--count --until-direct --socket --help" ;;
	netcheck) opts="--json --config --help" ;;
	interfaces) opts="--json --help" ;;
	version | help) opts="--help" ;;
	mesh)
		# wice mesh COMMAND [OPTION...]
		case ${args[0]-} in
		'') opts="--help" ;;
		init) opts="--qr --help" ;;
		qr) opts="--png --secret-file --help" ;;
		join) opts="--secret-file --interface --state-dir --hostname --config --socket --verbose --help" ;;
		leave) opts="--socket --help" ;;
		rotate) opts="--new-secret-file --grace --socket --help" ;;
		*) return ;;
		esac
		;;
	signal-server)
		opts="--listen --stun-port --max-message --max-queue --max-age --max-mailboxes --max-subscribers
			--max-store --max-mailboxes-per-addr --max-store-per-addr --max-connections --max-conns-per-addr
			--max-incomplete-per-addr --idle-timeout
			--header-timeout --body-timeout --keepalive --challenge-ttl --help"
		;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		_wice_compgen "$opts" "$cur"
		return
	fi

	case $cmd in
	daemon)
		_wice_compgen "$(_wice_wg_interfaces)" "$cur"
		;;
	show)
		# [INTERFACE [PEER]] [dump]
		local more=dump
		[[ " ${words[*]} " == *" --json "* || " ${words[*]} " == *" -j "* ]] && more=
		if [ "${#args[@]}" -ge 1 ] && [ "${args[-1]}" = dump ]; then
			:
		elif [ "${#args[@]}" -eq 0 ]; then
			_wice_compgen "$more $(_wice_interfaces)" "$cur"
		elif [ "${#args[@]}" -eq 1 ]; then
			_wice_compgen "$more $(_wice_peers "${args[0]}")" "$cur"
		elif [ "${#args[@]}" -eq 2 ]; then
			_wice_compgen "$more" "$cur"
		fi
		;;
	add)
		[ "${#args[@]}" -eq 0 ] && _wice_compgen "$(_wice_wg_interfaces)" "$cur"
		;;
	mesh)
		[ "${#args[@]}" -eq 0 ] && _wice_compgen "init qr join leave rotate help" "$cur"
		;;
	delete | sync)
		[ "${#args[@]}" -eq 0 ] && _wice_compgen "$(_wice_interfaces)" "$cur"
		;;
	restart | ping)
		# INTERFACE PEER
		if [ "${#args[@]}" -eq 0 ]; then
			_wice_compgen "$(_wice_interfaces)" "$cur"
		elif [ "${#args[@]}" -eq 1 ]; then
			_wice_compgen "$(_wice_peers "${args[0]}")" "$cur"
		fi
		;;
	esac
}
complete -F _wice wice
