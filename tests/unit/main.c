/* Unit-test runner: registers every suite in suites.h and runs them.
 * `build/unit-tests [suite]` runs one suite by name. Exit status is the
 * number of failures (capped), so make and valgrind see a failure. */
#include <CUnit/Basic.h>
#include <string.h>

#include "suites.h"

typedef struct {
    const char *name;
    int (*add)(void);
} unit_suite;

#define UNIT_ENTRY(name) {#name, suite_##name},
static const unit_suite unit_suites[] = {UNIT_SUITES(UNIT_ENTRY)};

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof unit_suites / sizeof unit_suites[0]; i++) {
        if (argc > 1 && strcmp(argv[1], unit_suites[i].name) != 0)
            continue;
        if (unit_suites[i].add() != 0) {
            fprintf(stderr, "cannot register suite %s\n", unit_suites[i].name);
            CU_cleanup_registry();
            return 2;
        }
    }
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures > 100 ? 100 : (int)failures;
}
