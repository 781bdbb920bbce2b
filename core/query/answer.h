#pragma once

#include "common/result.h"

#include <QJsonObject>

namespace Swamp::Query {

// data.query's answer in the rows form (protocol.md: asked with "rows": true, it carries "tables"
// and writes each step and lease as `[table, value, ...]`, times in milliseconds) as the answer
// without it: each row rebuilt as the record it stands for, "tables" gone. What a client prints
// is the same either way, byte for byte. An answer without "tables" is given back as it is.
// Error code "malformed_answer" when a row does not fit its table (an orchestrator that breaks the
// protocol): never a crash, never a record half rebuilt.
Result<QJsonObject> answerWithRecords(QJsonObject answer);
// The same of a call's outcome: its error as it is.
inline Result<QJsonObject> answerWithRecords(const Result<QJsonObject> &answer)
{
    return answer ? answerWithRecords(*answer) : answer;
}

} // namespace Swamp::Query
