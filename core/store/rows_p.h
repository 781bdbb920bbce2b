#pragma once

// How the store reads a step or lease row, whether through QSqlQuery or straight from SQLite
// (queryrows.cpp): one mapping from columns to records (internal to core/store/).

#include "common/jsonwriter.h"
#include "common/labels.h"
#include "model/step.h"
#include "query/record.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlQuery>
#include <QString>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace Swamp::Internal {

// The columns of the current row, each converted only when asked.
class RowColumns
{
public:
    virtual ~RowColumns() = default;
    virtual bool isNull(int column) const = 0;
    virtual qint64 integer(int column) const = 0;
    // integer(), or nullopt for null: a timestamp column, in one look where a row can.
    virtual std::optional<qint64> optionalInteger(int column) const
    {
        return isNull(column) ? std::nullopt : std::optional<qint64>(integer(column));
    }
    virtual QString text(int column) const = 0;
    // The text as UTF-8, valid until the row moves on (a key to look up without copying it).
    virtual QByteArray utf8(int column) const = 0;
};

// A QSqlQuery positioned on a row.
class QueryColumns final : public RowColumns
{
public:
    explicit QueryColumns(const QSqlQuery &query)
        : m_query(query)
    {
    }
    bool isNull(int column) const override { return m_query.isNull(column); }
    qint64 integer(int column) const override { return m_query.value(column).toLongLong(); }
    QString text(int column) const override { return m_query.value(column).toString(); }
    QByteArray utf8(int column) const override { return text(column).toUtf8(); }

private:
    const QSqlQuery &m_query;
};

// The columns of StepColumnsSql, in its order.
enum StepColumn {
    StepId, StepRunId, StepSeq, StepName, StepCommand, StepShell, StepEnv, StepTarget, StepLabels, StepPlatform,
    StepTimeoutMs, StepQueueTimeoutMs, StepMaxAttempts, StepAtMostOnce, StepState_, StepAttempt, StepExitCode,
    StepError, StepWorkerId, StepWorkerName, StepCancelRequested, StepOutputBytes, StepOutputChunks,
    StepOutputTruncated, StepQueuedAt, StepStartedAt, StepFinishedAt, StepCreatedAt, StepUpdatedAt,
    StepSecretEnv, StepSecretHolder
};
extern const char StepColumnsSql[]; // "SELECT <every column> FROM steps "

// The columns of LeaseColumnsSql, in its order.
enum LeaseColumn {
    LeaseId, LeaseStepId, LeaseRunId, LeaseWorkerId, LeaseWorkerName, LeaseAttempt, LeaseState_, LeaseError,
    LeaseExitCode, LeaseCreatedAt, LeaseStartedAt, LeaseEndedAt, LeaseUpdatedAt, LeaseOrchestratorId
};
extern const char LeaseColumnsSql[]; // "SELECT <every column> FROM step_leases "

// Column texts that many rows share (labels, commands, masked variable names), parsed once a scan.
class TextCache
{
public:
    Labels labels(const QByteArray &utf8)
    {
        return find(m_labels, utf8, [](const QByteArray &text) {
            return labelsFromJson(QJsonDocument::fromJson(text).object());
        });
    }
    // The labels column as a query reads it (Query::stringMapValue()).
    QVariant labelsValue(const QByteArray &utf8)
    {
        return find(m_labelsValue, utf8, [this](const QByteArray &text) { return Query::stringMapValue(labels(text)); });
    }
    // A JSON array of strings (command, secret_env), each element as toString() reads it.
    QStringList strings(const QByteArray &utf8)
    {
        return find(m_strings, utf8, [](const QByteArray &text) {
            QStringList strings;
            for (const QJsonValue &element : QJsonDocument::fromJson(text).array())
                strings << element.toString();
            return strings;
        });
    }

    // The same three as JSON text, as JsonObjectWriter writes them (data.query's results).
    QByteArray labelsText(const QByteArray &utf8)
    {
        return find(m_labelsText, utf8, [this](const QByteArray &text) {
            QByteArray json;
            appendJsonStrings(json, labels(text));
            return json;
        });
    }
    QByteArray stringsText(const QByteArray &utf8)
    {
        return find(m_stringsText, utf8, [this](const QByteArray &text) {
            QByteArray json;
            appendJsonStrings(json, strings(text));
            return json;
        });
    }
    // Requirement::text() of a step's target, labels and platform columns, as a JSON string.
    QByteArray requirementText(const QByteArray &target, const QByteArray &labelsUtf8, const QByteArray &platform)
    {
        m_key.assign(target.constData(), size_t(target.size()));
        m_key += '\0';
        m_key.append(labelsUtf8.constData(), size_t(labelsUtf8.size()));
        m_key += '\0';
        m_key.append(platform.constData(), size_t(platform.size()));
        return find(m_requirementText, QByteArray::fromRawData(m_key.data(), qsizetype(m_key.size())),
                    [&](const QByteArray &) {
            QByteArray json;
            const Requirement requirement{QString::fromUtf8(target), labels(labelsUtf8), QString::fromUtf8(platform)};
            appendJsonString(json, requirement.text());
            return json;
        });
    }

private:
    struct Hash
    {
        using is_transparent = void;
        size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
    };
    template <typename T>
    struct Map
    {
        std::unordered_map<std::string, T, Hash, std::equal_to<>> texts;
        // The two latest found, looked at first: rows read in order share their texts with one
        // of the two rows before (a fleet's regions alternating), and a comparison of the
        // bytes is about a third of hashing them and looking the hash up (issue 20).
        std::string recentKeys[2];
        T recent[2];
        int filled = 0;
        int next = 0;
    };

    template <typename T, typename Parse>
    static T find(Map<T> &map, const QByteArray &utf8, Parse parse)
    {
        const std::string_view key(utf8.constData(), size_t(utf8.size()));
        for (int i = 0; i < map.filled; ++i) {
            if (map.recentKeys[i] == key)
                return map.recent[i];
        }
        T value;
        if (const auto found = map.texts.find(key); found != map.texts.end()) {
            value = found->second;
        } else {
            value = parse(utf8);
            constexpr size_t MaxTexts = 4096; // a store where every row differs gains nothing
            if (map.texts.size() < MaxTexts)
                map.texts.emplace(std::string(key), value);
        }
        map.recentKeys[map.next].assign(key);
        map.recent[map.next] = value;
        map.next ^= 1;
        map.filled = std::min(map.filled + 1, 2);
        return value;
    }

    Map<Labels> m_labels;
    Map<QVariant> m_labelsValue;
    Map<QStringList> m_strings;
    Map<QByteArray> m_labelsText;
    Map<QByteArray> m_stringsText;
    Map<QByteArray> m_requirementText;
    std::string m_key; // requirementText()'s, kept to reuse its memory
};

StepRecord stepFromColumns(const RowColumns &columns);
// The step as its JSON shows it (StepRecord::toJson(), toJsonText()): everything but its
// environment, which is not read; the shared texts parsed once through `texts`.
StepRecord stepForJson(const RowColumns &columns, TextCache &texts);
LeaseRecord leaseFromColumns(const RowColumns &columns);
// A timestamp column (milliseconds; NULL: invalid).
QDateTime timeFromColumn(const RowColumns &columns, int column);

} // namespace Swamp::Internal
