/* The CUnit suites of the unit-test binary. Each test_<name>.c defines
 * int suite_<name>(void), which registers its suite; add new ones here. */
#ifndef SUITES_H
#define SUITES_H

#define UNIT_SUITES(X) \
    X(sbuf)            \
    X(gtid)            \
    X(config)          \
    X(messages)        \
    X(vrepl)           \
    X(decoder)         \
    X(stmt_target)     \
    X(preflight)       \
    X(pbcheck)         \
    X(progress)        \
    X(classify)        \
    X(router)          \
    X(router_wire)     \
    X(prom)

#define UNIT_DECLARE(name) int suite_##name(void);
UNIT_SUITES(UNIT_DECLARE)

#endif
