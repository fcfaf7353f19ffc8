/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis keygen: new DKIM keys for portcullis-sign, with what to do
 * with them. For each key: the private key file (PKCS#8 PEM, mode 0600,
 * owned by the daemon's user), the DNS record in zone-file form (printed,
 * and written next to the key as FILE.txt), and the domains.d lines.
 *
 * Files are DIR/DOMAIN.SELECTOR.rsa.pem and DIR/DOMAIN.SELECTOR.ed25519.pem
 * (the selector in the name, so that a rotation's new key sits next to
 * the old one). An existing file is never overwritten. A key is written to
 * a temporary file in DIR first (created 0600, O_EXCL), given to its owner,
 * read back through sign_key_load() (the checks portcullis-sign makes at
 * start: mode, owner, type, size), and only then renamed into place.
 *
 * With --type both the Ed25519 key gets a selector of its own (one record
 * per selector): --selector-ed25519, default SELECTOR-ed25519.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pc-config.h"
#include "sign-keys.h"
#include "sign-policy.h"
#include "tool-dkim.h"
#include "tool.h"
#include "verify-dkim.h"

#define KEYGEN_DEFAULT_DIR "/etc/portcullis/keys"
/* the user the packages run portcullis-sign as (packaging/sysusers.d) */
#define KEYGEN_PACKAGED_SIGNER "portcullis-sign"
#define KEYGEN_MIN_BITS 2048
#define KEYGEN_MAX_BITS 8192

typedef struct {
	char *config_path;
	char *type;
	gint bits;
	char *dir;
	char *user;
	char *selector_ed25519;
	gboolean user_given;
} KeygenOptions;

/* the PKCS#8 PEM of a new key, or NULL with a message on stderr */
static GBytes *
keygen_generate(SignAlgorithm algorithm, guint bits)
{
	EVP_PKEY *pkey = algorithm == SIGN_ALG_RSA_SHA256
			     ? EVP_RSA_gen(bits)
			     : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio;
	char *data = NULL;
	long len;
	GBytes *pem = NULL;

	if (pkey == NULL) {
		fprintf(stderr, "portcullis keygen: OpenSSL could not make the key\n");
		return NULL;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0)
			pem = g_bytes_new(data, (gsize)len);
	}
	if (pem == NULL)
		fprintf(stderr, "portcullis keygen: OpenSSL could not write the key\n");
	/* the memory BIO is cleared before it is freed: it held the private key */
	if (bio != NULL) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0)
			OPENSSL_cleanse(data, (size_t)len);
		BIO_free(bio);
	}
	EVP_PKEY_free(pkey);
	return pem;
}

/* writes all of data to fd; FALSE with errno */
static gboolean
write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t written = write(fd, data, len);

		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return FALSE;
		data += written;
		len -= (gsize)written;
	}
	return TRUE;
}

/*
 * path, written safely: a temporary file (0600, exclusive), owner set,
 * read back as portcullis-sign reads keys, renamed into place without
 * replacing anything. Returns the key as loaded, or NULL with a message.
 */
static SignKey *
keygen_write_key(const char *path, GBytes *pem, uid_t uid, gid_t gid, gboolean chown_it)
{
	g_autofree char *temporary = g_strdup_printf("%s.XXXXXX", path);
	g_autoptr(GError) error = NULL;
	g_autofree char *warning = NULL;
	gsize len;
	const char *data = g_bytes_get_data(pem, &len);
	SignKey *key;
	int fd = g_mkstemp_full(temporary, O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0) {
		fprintf(stderr, "portcullis keygen: %s: %s\n", temporary, g_strerror(errno));
		return NULL;
	}
	if (!write_all(fd, data, len) || fsync(fd) != 0 ||
	    (chown_it && fchown(fd, uid, gid) != 0)) {
		fprintf(stderr, "portcullis keygen: %s: %s\n", temporary, g_strerror(errno));
		close(fd);
		unlink(temporary);
		return NULL;
	}
	close(fd);
	key = sign_key_load(temporary, chown_it ? uid : getuid(), &warning, &error);
	if (key == NULL) {
		fprintf(stderr, "portcullis keygen: the new key does not load: %s\n",
			error->message);
		unlink(temporary);
		return NULL;
	}
	/* link() fails when path exists: a key is never replaced */
	if (link(temporary, path) != 0) {
		fprintf(stderr, "portcullis keygen: %s: %s\n", path, g_strerror(errno));
		unlink(temporary);
		sign_key_unref(key);
		return NULL;
	}
	unlink(temporary);
	return key;
}

/* DIR/DOMAIN.SELECTOR.ALG.txt: the record, world-readable (it is public) */
static gboolean
keygen_write_record(const char *path, const char *record)
{
	g_autoptr(GError) error = NULL;

	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		fprintf(stderr, "portcullis keygen: %s exists; not replaced\n", path);
		return FALSE;
	}
	if (!g_file_set_contents_full(path, record, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      &error)) {
		fprintf(stderr, "portcullis keygen: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	SignAlgorithm algorithm;
	const char *selector;
	char *key_path;
	char *record_path;
	char *record;
	guint bits;
} KeygenOutput;

static gboolean
keygen_one(const char *domain, const KeygenOptions *options, uid_t uid, gid_t gid,
	   gboolean chown_it, KeygenOutput *out)
{
	const char *suffix = out->algorithm == SIGN_ALG_RSA_SHA256 ? "rsa" : "ed25519";
	g_autoptr(GBytes) pem = NULL;
	g_autoptr(SignKey) key = NULL;
	g_autofree char *public = NULL;

	out->key_path =
	    g_strdup_printf("%s/%s.%s.%s.pem", options->dir, domain, out->selector, suffix);
	out->record_path =
	    g_strdup_printf("%s/%s.%s.%s.txt", options->dir, domain, out->selector, suffix);
	if (g_file_test(out->key_path, G_FILE_TEST_EXISTS) ||
	    g_file_test(out->record_path, G_FILE_TEST_EXISTS)) {
		fprintf(stderr,
			"portcullis keygen: %s exists; not replaced (choose another selector)\n",
			g_file_test(out->key_path, G_FILE_TEST_EXISTS) ? out->key_path
								       : out->record_path);
		return FALSE;
	}
	pem = keygen_generate(out->algorithm, (guint)options->bits);
	if (pem == NULL)
		return FALSE;
	key = keygen_write_key(out->key_path, pem, uid, gid, chown_it);
	if (key == NULL)
		return FALSE;
	out->bits = sign_key_get_bits(key);
	public = sign_key_get_public(key);
	out->record = tool_dkim_zone_record(domain, out->selector, out->algorithm, public);
	return keygen_write_record(out->record_path, out->record);
}

/*
 * the signer's user: --user, else portcullis-sign when it exists (the
 * packaged unit runs the signer as that user, and a key owned by another is
 * refused), else [global] user of the configuration (a daemon started as
 * root runs as that)
 */
static gboolean
keygen_owner(KeygenOptions *options, uid_t *uid_out, gid_t *gid_out, gboolean *chown_out)
{
	struct passwd *pw;

	if (options->user == NULL && getpwnam(KEYGEN_PACKAGED_SIGNER) != NULL)
		options->user = g_strdup(KEYGEN_PACKAGED_SIGNER);
	if (options->user == NULL) {
		g_autoptr(PcConfig) config = NULL;
		const char *path =
		    options->config_path != NULL ? options->config_path : PC_CONFIG_DEFAULT_FILE;

		/* without a configuration yet, the default user */
		if (options->config_path == NULL && !g_file_test(path, G_FILE_TEST_EXISTS)) {
			options->user = g_strdup("portcullis");
		} else {
			if (!tool_load("keygen", path, &sign_config_check_schema, &config, NULL))
				return FALSE;
			options->user = g_strdup(pc_config_get_global(config)->user);
		}
	}
	*chown_out = FALSE;
	/* user = "" (the daemons stay as who started them): the keys stay ours */
	if (*options->user == '\0')
		return TRUE;
	pw = getpwnam(options->user);
	if (pw == NULL) {
		fprintf(stderr,
			"portcullis keygen: user %s does not exist: create it (the daemons run as "
			"it) or give --user\n",
			options->user);
		return FALSE;
	}
	if (pw->pw_uid != getuid() && getuid() != 0) {
		fprintf(
		    stderr,
		    "portcullis keygen: only root can give the keys to %s (portcullis-sign reads "
		    "them as that user)\n",
		    options->user);
		return FALSE;
	}
	*uid_out = pw->pw_uid;
	*gid_out = pw->pw_gid;
	*chown_out = TRUE;
	return TRUE;
}

static void
keygen_print(const char *domain, const KeygenOptions *options, const KeygenOutput *outputs, guint n)
{
	printf("# portcullis keygen: %s\n", domain);
	for (guint i = 0; i < n; i++) {
		if (outputs[i].algorithm == SIGN_ALG_RSA_SHA256)
			printf("# wrote %s (RSA, %u bits, mode 0600, owner %s)\n",
			       outputs[i].key_path, outputs[i].bits,
			       *options->user != '\0' ? options->user : "unchanged");
		else
			printf("# wrote %s (Ed25519, mode 0600, owner %s)\n", outputs[i].key_path,
			       *options->user != '\0' ? options->user : "unchanged");
	}
	printf("#\n# 1. publish in the zone of %s:\n", domain);
	for (guint i = 0; i < n; i++)
		printf("# (%s)\n%s", outputs[i].record_path, outputs[i].record);
	printf("#\n# 2. once published, check: ");
	for (guint i = 0; i < n; i++)
		printf("%sportcullis dkim-check %s %s", i > 0 ? "; " : "", domain,
		       outputs[i].selector);
	printf(
	    "\n#\n# 3. then sign with it: add to domains.d/%s.conf, and reload portcullis-sign\n",
	    domain);
	printf("[sign]\n");
	for (guint i = 0; i < n; i++) {
		gboolean rsa = outputs[i].algorithm == SIGN_ALG_RSA_SHA256;

		printf("%s = %s\n%s = %s\n", rsa ? "selector" : "selector_ed25519",
		       outputs[i].selector, rsa ? "key" : "key_ed25519", outputs[i].key_path);
	}
}

int
tool_keygen(int argc, char **argv)
{
	KeygenOptions options = {.bits = 2048};
	GOptionEntry entries[] = {
	    {"type", 't', 0, G_OPTION_ARG_STRING, &options.type,
	     "rsa, ed25519 or both (default rsa)", "TYPE"},
	    {"bits", 'b', 0, G_OPTION_ARG_INT, &options.bits, "RSA key size (default 2048)",
	     "BITS"},
	    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.dir,
	     "where the files go (default " KEYGEN_DEFAULT_DIR ")", "DIR"},
	    {"user", 'u', 0, G_OPTION_ARG_STRING, &options.user,
	     "owner of the key files (default: portcullis-sign when that user exists, else "
	     "[global] user of the configuration)",
	     "USER"},
	    {"selector-ed25519", 0, 0, G_OPTION_ARG_STRING, &options.selector_ed25519,
	     "with --type both: the Ed25519 key's selector (default SELECTOR-ed25519)", "NAME"},
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "configuration file, for [global] user (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("DOMAIN SELECTOR - new DKIM keys for portcullis-sign");
	g_autoptr(GError) error = NULL;
	KeygenOutput outputs[2] = {{0}};
	guint n = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	gboolean chown_it = FALSE;
	gboolean ok = TRUE;
	int status = TOOL_EXIT_OK;

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	    context, "Writes each key (mode 0600, owned by the daemons' user), prints its DNS "
		     "TXT record\nin zone-file form and the domains.d lines. Never replaces a "
		     "file.\nExit status 0 when the keys were written, 1 when they could not be, "
		     "2 for a\nusage error.");
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		status = tool_usage_error(context, "portcullis keygen", error->message);
		goto out;
	}
	if (argc != 3) {
		status = tool_usage_error(context, "portcullis keygen", "expected DOMAIN SELECTOR");
		goto out;
	}
	if (!verify_dkim_name_is_valid(argv[1], 2) || !verify_dkim_name_is_valid(argv[2], 1)) {
		status = tool_usage_error(context, "portcullis keygen",
					  "DOMAIN and SELECTOR must be domain names "
					  "(letters, digits, '-', '_', dots)");
		goto out;
	}
	if (options.type == NULL)
		options.type = g_strdup("rsa");
	if (strcmp(options.type, "rsa") != 0 && strcmp(options.type, "ed25519") != 0 &&
	    strcmp(options.type, "both") != 0) {
		status = tool_usage_error(context, "portcullis keygen",
					  "--type is rsa, ed25519 or both");
		goto out;
	}
	if (options.bits < KEYGEN_MIN_BITS || options.bits > KEYGEN_MAX_BITS) {
		status = tool_usage_error(context, "portcullis keygen",
					  "--bits is 2048 to 8192 (RFC 8301: under 2048 is "
					  "weak, under 1024 never verifies)");
		goto out;
	}
	if (options.dir == NULL)
		options.dir = g_strdup(KEYGEN_DEFAULT_DIR);
	if (!g_file_test(options.dir, G_FILE_TEST_IS_DIR)) {
		fprintf(stderr, "portcullis keygen: %s is not a directory\n", options.dir);
		status = TOOL_EXIT_FAILED;
		goto out;
	}
	if (!keygen_owner(&options, &uid, &gid, &chown_it)) {
		status = TOOL_EXIT_USAGE;
		goto out;
	}
	if (strcmp(options.type, "ed25519") != 0)
		outputs[n++] =
		    (KeygenOutput){.algorithm = SIGN_ALG_RSA_SHA256, .selector = argv[2]};
	if (strcmp(options.type, "rsa") != 0) {
		if (options.selector_ed25519 == NULL)
			options.selector_ed25519 = strcmp(options.type, "both") == 0
						       ? g_strdup_printf("%s-ed25519", argv[2])
						       : g_strdup(argv[2]);
		if (!verify_dkim_name_is_valid(options.selector_ed25519, 1)) {
			status = tool_usage_error(context, "portcullis keygen",
						  "--selector-ed25519 must be a domain name");
			goto out;
		}
		outputs[n++] = (KeygenOutput){.algorithm = SIGN_ALG_ED25519_SHA256,
					      .selector = options.selector_ed25519};
	}
	for (guint i = 0; i < n && ok; i++)
		ok = keygen_one(argv[1], &options, uid, gid, chown_it, &outputs[i]);
	if (ok)
		keygen_print(argv[1], &options, outputs, n);
	else
		status = TOOL_EXIT_FAILED;
out:
	for (guint i = 0; i < G_N_ELEMENTS(outputs); i++) {
		g_free(outputs[i].key_path);
		g_free(outputs[i].record_path);
		g_free(outputs[i].record);
	}
	g_free(options.config_path);
	g_free(options.type);
	g_free(options.dir);
	g_free(options.user);
	g_free(options.selector_ed25519);
	return status;
}
