/*
 * ccr-config: the command table. Each command lives in its own cmd_*.c file.
 */
#include "cli.h"

extern const struct command cmd_set_entry, cmd_get_entry, cmd_list_entry, cmd_delete_entry,
    cmd_status_entry, cmd_exec_entry, cmd_shell_init_entry, cmd_lock_entry, cmd_unlock_entry,
    cmd_passphrase_entry;
extern const struct command cmd_check_entry;
extern const struct command cmd_import_entry, cmd_migrate_entry;
extern const struct command cmd_router_entry;
extern const struct command cmd_help_entry, cmd_version_entry;
extern const struct command cmd_allow_entry, cmd_guard_entry, cmd_confine_entry;
extern const struct command cmd_bind_entry, cmd_rename_entry;

static const struct command *const commands[] = {
    &cmd_set_entry,
    &cmd_get_entry,
    &cmd_list_entry,
    &cmd_delete_entry,
    &cmd_rename_entry,
    &cmd_bind_entry,
    &cmd_status_entry,
    &cmd_exec_entry,
    &cmd_import_entry,
    &cmd_migrate_entry,
    &cmd_shell_init_entry,
    &cmd_router_entry,
    &cmd_check_entry,
    &cmd_unlock_entry,
    &cmd_lock_entry,
    &cmd_passphrase_entry,
    &cmd_allow_entry,
    &cmd_guard_entry,
    &cmd_confine_entry,
    &cmd_help_entry,
    &cmd_version_entry,
    NULL,
};

int
main(int argc, char **argv)
{
	return cli_main(commands, argc, argv);
}
