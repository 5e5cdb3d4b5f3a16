/* cli_acme: `tern acme revoke DOMAIN` — revoke an ACME certificate.
 *
 * For a key that may have leaked: the CA is told (reason keyCompromise)
 * before the files are deleted, so a failure leaves everything as it was.
 * The running server keeps serving the revoked certificate from memory
 * until it is told: SIGHUP makes it notice the missing files and order a
 * new certificate at once (so does the next start). */
#include "app/cli.h"

#include <stdio.h>
#include <string.h>

#include "acme/acme.h"

static const char usage[] =
    "usage: tern [--config FILE] acme revoke DOMAIN\n"
    "\n"
    "Revokes the certificate of the [[tls.acme]] entry that names DOMAIN at its\n"
    "CA (reason keyCompromise, signed with the account key), then deletes it\n"
    "from <data_dir>/acme/. Send SIGHUP to the running server (or restart it)\n"
    "to stop serving it and order a new one.\n";

int cli_acme(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	if (strcmp(argv[0], "revoke") != 0) {
		fprintf(stderr, "tern acme: unknown command '%s'\n\n%s", argv[0], usage);
		return 2;
	}
	if (argc != 2) {
		fprintf(stderr, "tern acme revoke: needs one DOMAIN\n\n%s", usage);
		return 2;
	}
	char err[800];
	if (acme_revoke(cfg->acme, cfg->nacme, cfg->data_dir, argv[1], err, sizeof err) != 0) {
		fprintf(stderr, "tern acme revoke: %s\n", err);
		return 1;
	}
	printf("revoked the certificate for %s and deleted it; send SIGHUP to the running "
	       "server (or restart it) to order a new one\n",
	       argv[1]);
	return 0;
}
