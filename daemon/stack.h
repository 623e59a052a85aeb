/*
 * Wiping what is left on a thread's stack. Values and passphrases pass
 * through the stacks of the loop and of the work threads (cJSON, libsodium's
 * ciphers and Argon2id, libc's string functions leave copies in frames that
 * have returned); after a lock, and at the end of each job on a work thread,
 * every byte of the stack below the caller is overwritten.
 */
#ifndef CCR_STACK_H
#define CCR_STACK_H

/*
 * Overwrite the calling thread's stack below this call: every page of it that
 * was ever used (Linux: the stack mapping's resident pages; elsewhere a fixed
 * 256 KiB). Call it from a shallow frame, so that it covers what deeper calls
 * left behind.
 */
void stack_wipe(void);

#endif
