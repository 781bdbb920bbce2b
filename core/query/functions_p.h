#pragma once

#include "common/result.h"
#include "query/value_p.h"

#include <QList>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <span>

namespace Swamp::Query::Internal {

// One signature of a built-in function. For methods the receiver is params[0].
struct Overload
{
    QString name;
    bool isMethod = false;
    QList<Kind> params;
    Kind result = Kind::Dyn;
};

const QList<Overload> &overloads();
QStringList functionNames();

// "startsWith(string) on string", "int(list)": how messages name a call's argument kinds.
QString callDescription(const QString &name, bool isMethod, const QList<Kind> &kinds);

// Calls a built-in with evaluated arguments (receiver first for methods). `regex` is the
// pattern precompiled by the checker for matches() with a literal pattern, else null.
// Errors carry no position; the evaluator adds it.
Result<Value> callFunction(const QString &name, bool isMethod, std::span<const Value> arguments,
                           const QRegularExpression *regex);

// Compiles a matches() pattern; the error names the problem and where in the pattern.
Result<QRegularExpression> compilePattern(const QString &pattern);

} // namespace Swamp::Query::Internal
