#pragma once

// Helpers shared by the unit and integration tests.

#include "common/error.h"

#include <QString>
#include <QTest>

// Fails the test with the Result's error code, message and fix when it holds no value.
#define QVERIFY_RESULT(result)                                                                     \
    do {                                                                                           \
        const auto &swampResult_ = (result);                                                       \
        if (!swampResult_) {                                                                       \
            QFAIL(qPrintable(QStringLiteral("%1: %2").arg(swampResult_.error().code,             \
                                                          swampResult_.error().text())));         \
        }                                                                                          \
    } while (false)

// Verifies that a Result failed with the given error code.
#define QVERIFY_ERROR_CODE(result, expectedCode)                                                   \
    do {                                                                                           \
        const auto &swampResult_ = (result);                                                       \
        QVERIFY2(!swampResult_, "expected an error, got a value");                                 \
        QCOMPARE(swampResult_.error().code, QString(expectedCode));                                \
    } while (false)

namespace Swamp {
// Lets QCOMPARE print project errors.
inline char *toString(const Error &error)
{
    return QTest::toString(QStringLiteral("%1: %2").arg(error.code, error.text()));
}
} // namespace Swamp
