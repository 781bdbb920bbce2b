#pragma once

#include "common/result.h"
#include "query/ast_p.h"
#include "query/predicate.h"
#include "query/schema.h"

#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

namespace Swamp::Query::Internal {

// A parsed and checked predicate, shared by copies of Predicate.
struct Program
{
    QString source;
    std::unique_ptr<Node> root;
    int slotCount = 0; // comprehension variables
    std::optional<QStringList> modelTypes;
    QList<std::pair<QString, QJsonValue>> attributeEqualities;
    std::vector<int> equalityConjuncts; // per attribute equality: its conjunct (conjunctModelTypes' index)
    // Per conjunct of the root's && chain (the root alone when it is none): the model types it
    // admits when it only names model types (modelType == "x", modelType in [...]).
    std::vector<std::optional<QStringList>> conjunctModelTypes;
    // What it reads of a record (after the checks: names are bound); nullopt when it reads
    // `attributes` whole.
    std::optional<FieldsRead> fieldsRead;
};

// Resolves names, refuses unknown fields and functions (query_unknown_field, with a
// suggestion), refuses operations whose operand types are known not to fit (query_type) and
// bad literal regular expressions (query_syntax); annotates the tree for the evaluator and
// fills the push-down hints.
Result<void> check(Program &program, const Schema &schema);

} // namespace Swamp::Query::Internal
