/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis-auth: the daemon is its descriptor (auth-milter.c) in the milter skeleton */
#include "milter-descriptors.h"

int
main(int argc, char **argv)
{
	return pc_milter_main(&auth_milter, argc, argv);
}
