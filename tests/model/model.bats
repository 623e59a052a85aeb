#!/usr/bin/env bats
# The randomized model-based test of ccr-keyd (the tool is
# tests/model/*.c). Six clients send random requests on keys of their own while
# a controller locks, unlocks (right and wrong passphrases, --for, shortening
# --for), sets, changes and removes the passphrase, and fires SIGHUP, SIGKILL
# and SIGTERM at random moments, some of them while one of its requests is in
# flight, or races a lock against it; now and then, with the clients parked, it
# swaps a plain file (while sealed) or an older sealed copy in under a SIGHUP,
# which must be refused, and puts the real file back. Every reply is checked against a
# sequential model; after each kill the file must open with the passphrase the
# model holds and hold every acknowledged change and no value nobody set.
#
# The daemon is the test build of the ASan+UBSan daemon (CCR_MODEL_KEYD; make
# test builds it): only the test build honours the fast key derivation and the
# short wrong-passphrase delay the test sets. A sanitizer finding ends it,
# which the test sees as a divergence.
#
#   MODEL_SECONDS=N   run longer (default 60)
#   MODEL_SEED=S      replay a run's choices (every run prints its seed)
#   MODEL_CLIENTS=N   clients (default 6)

load ../integration/helpers

setup() {
	common_setup
	MODEL=$CCR_BUILD/tools/ccr-model
	MODEL_KEYD=${CCR_MODEL_KEYD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/san/test/ccr-keyd}
	[ -x "$MODEL" ] || fail "$MODEL is missing; run: make $MODEL"
	[ -x "$MODEL_KEYD" ] ||
		fail "the sanitized daemon $MODEL_KEYD is missing; run: make model-keyd"
}

teardown() {
	common_teardown
}

@test "clients, lock, unlock, passphrases, SIGHUP, SIGKILL and SIGTERM at random: every reply and the file agree with the model" {
	run "$MODEL" "$MODEL_KEYD" "$BATS_TEST_TMPDIR/model"
	# The seed, the figures and the state transitions driven, on every run.
	grep '^# [a-zA-Z0-9 ]' <<<"$output" | grep -v '^# keyd: ' >&3 || true
	[ "$status" -eq 0 ] || fail "the model test failed (status $status):" "$output"
}
