/* What a vmlinux says about itself, read through libelf: its GNU build-id
 * note (the same bytes a running kernel puts in VMCOREINFO's BUILD-ID) and
 * whether it carries DWARF, which crash(8) needs. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

/* A build-id is a hash: 20 bytes (SHA-1) in practice; anything longer than
 * this is not one. */
#define BUILD_ID_MAX 64

/* The build-id in the note section DATA, as lowercase hex, or NULL. */
static char *note_build_id(Elf_Data *data)
{
	GElf_Nhdr nhdr;
	size_t offset = 0, name_off, desc_off;

	while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
		const guint8 *desc = (const guint8 *)data->d_buf + desc_off;
		GString *hex;

		if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0 ||
		    nhdr.n_descsz == 0 || nhdr.n_descsz > BUILD_ID_MAX)
			continue;
		hex = g_string_sized_new(2 * nhdr.n_descsz + 1);
		for (guint i = 0; i < nhdr.n_descsz; i++)
			g_string_append_printf(hex, "%02x", desc[i]);
		return g_string_free(hex, FALSE);
	}
	return NULL;
}

gboolean kdh_elf_inspect(const char *path, char **build_id, gboolean *has_debug_info,
                         GError **error)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	gboolean ok = FALSE;
	int fd;

	*build_id = NULL;
	*has_debug_info = FALSE;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_ELF, "libelf: %s",
		            elf_errmsg(-1));
		return FALSE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int saved = errno;
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_ELF, "opening %s: %s", path,
		            g_strerror(saved));
		return FALSE;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_ELF, "%s is not an ELF file: %s",
		            path, elf_errmsg(-1));
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (name && g_str_equal(name, ".debug_info") && shdr.sh_type != SHT_NOBITS &&
		    shdr.sh_size > 0)
			*has_debug_info = TRUE;
		if (shdr.sh_type == SHT_NOTE && !*build_id) {
			Elf_Data *data = elf_getdata(scn, NULL);
			if (data && data->d_buf)
				*build_id = note_build_id(data);
		}
	}
	ok = TRUE;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ok;
}
