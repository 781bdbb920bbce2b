// `data.query`: the orchestrator's state as records of the built-in models, filtered by a
// compiled predicate. `modelType ==` and `attributes.<column> == <literal>` are pushed down to
// SQL; the predicate always has the final word. Steps and leases (the many records) are read as
// rows whose columns the predicate reads when it needs them (store/queryrows.h), and only the
// records kept as results are written out, as JSON text.
#include "server/queryservice.h"

#include "common/duration.h"
#include "common/jsonwriter.h"
#include "common/largebuffer.h"
#include "common/logging.h"
#include "query/predicate.h"
#include "server/stateview.h"
#include "store/queryrows.h"
#include "store/store.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <tuple>
#include <vector>

using namespace Qt::StringLiterals;

namespace Swamp {

namespace {
const QString WorkerModel = QStringLiteral("swamp/worker");
const QString TokenModel = QStringLiteral("swamp/enrollment-token");
const QString LeaseModel = QStringLiteral("swamp/step-lease");
const QString StepModel = QStringLiteral("swamp/step");
const QString RunModel = QStringLiteral("swamp/run");
const QString AuditModel = QStringLiteral("swamp/audit-event");

// The rows form's tables, in the order of the answer's "tables" (protocol.md).
constexpr int StepTable = 0;
constexpr int LeaseTable = 1;

QByteArray tablesText()
{
    static const QByteArray tables = '[' + StepRow::tableText() + ',' + LeaseRow::tableText() + ']';
    return tables;
}

QJsonObject makeRecord(const QString &modelType, const QString &name, const QString &id,
                       const QJsonValue &createdAt, const QJsonValue &updatedAt, const QJsonObject &attributes)
{
    return QJsonObject{{QStringLiteral("modelType"), modelType}, {QStringLiteral("name"), name},
                       {QStringLiteral("id"), id},               {QStringLiteral("createdAt"), createdAt},
                       {QStringLiteral("updatedAt"), updatedAt}, {QStringLiteral("attributes"), attributes}};
}

// makeRecord()'s object as text, around attributes already written as text (keys sorted, as
// QJsonDocument writes them).
QByteArray recordText(const QString &modelType, const QString &name, const QString &id, const QDateTime &createdAt,
                      const QDateTime &updatedAt, const QByteArray &attributes)
{
    JsonObjectWriter writer(attributes.size() + 192);
    writer.addRaw("attributes"_L1, attributes).addTime("createdAt"_L1, createdAt);
    writer.add("id"_L1, id).add("modelType"_L1, modelType).add("name"_L1, name).addTime("updatedAt"_L1, updatedAt);
    return writer.finish();
}

QByteArray stepText(const StepRecord &s)
{
    return recordText(StepModel, s.spec.name, s.id, s.createdAt, s.updatedAt, s.toJsonText());
}

QJsonObject stepJson(const StepRecord &s)
{
    const QJsonObject attributes = s.toJson();
    return makeRecord(StepModel, s.spec.name, s.id, attributes.value(QStringLiteral("createdAt")),
                      attributes.value(QStringLiteral("updatedAt")), attributes);
}

// A JSON value as Qt writes it inside an array.
QByteArray valueText(const QJsonValue &value)
{
    const QByteArray array = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return array.sliced(1, array.size() - 2);
}

// The string literal of `attributes.<field> == "<v>"` when the predicate has one.
QString equality(const Query::Predicate &predicate, const QString &field)
{
    for (const auto &[name, value] : predicate.attributeEqualities()) {
        if (name == field && value.isString())
            return value.toString();
    }
    return {};
}

// The results of a scan that reads rows in no order, put in the order of `data.query`'s results
// (created at, then seq; ties in the order they were read), and no more than `room` of them (-1:
// all): a match is written out only while it is among the first `room` so far, which for rows
// read about in creation order is soon none. Without a bound the results are written straight
// into the answer (`out`, after `count` others), where rows read in order (the usual case) stay;
// with one, into a buffer of their own until the last is known.
class OrderedResults
{
public:
    struct Key
    {
        qint64 createdAtMs;
        int seq;
        qint64 read;
        bool operator<(const Key &other) const
        {
            return std::tie(createdAtMs, seq, read) < std::tie(other.createdAtMs, other.seq, other.read);
        }
    };

    OrderedResults(QByteArray &out, qint64 &count, qint64 room)
        : m_out(out)
        , m_count(count)
        , m_room(room)
        , m_start(out.size())
    {
    }

    bool wouldKeep(const Key &key) const
    {
        return m_room < 0 || qint64(m_kept.size()) < m_room || (m_room > 0 && key < m_kept.front().key);
    }
    // Keeps a result for `key` (wouldKeep() said so): `write(QByteArray &)` appends its text, or
    // fails with the error its --select gave.
    template <typename Write>
    void keep(const Key &key, Write write)
    {
        QByteArray &texts = m_room < 0 ? m_out : m_texts;
        reserveToAppend(texts, 64 * 1024); // a record is about 1 KB: grows the answer seldom
        const qsizetype before = texts.size();
        if (m_room < 0 && m_count + qint64(m_kept.size()) > 0)
            texts += ',';
        const qsizetype at = texts.size();
        if (Result<void> written = write(texts); !written) {
            texts.truncate(before);
            m_kept.push_back({key, 0, 0, int(m_errors.size())});
            m_errors.push_back(written.error());
        } else {
            m_kept.push_back({key, at, texts.size() - at, -1});
        }
        if (m_room < 0)
            return; // sorted once at the end, if at all
        std::push_heap(m_kept.begin(), m_kept.end(), earlier);
        if (qint64(m_kept.size()) > m_room) {
            std::pop_heap(m_kept.begin(), m_kept.end(), earlier);
            m_garbage += m_kept.back().size;
            m_kept.pop_back();
        }
        if (m_garbage > 1024 * 1024 && m_garbage > m_texts.size() / 2)
            compact();
    }
    // The results, in order, after the others in the answer; the first --select error among them
    // instead, if there is one.
    Result<void> finish()
    {
        for (const Kept &kept : m_kept) {
            if (kept.error >= 0)
                return fail(m_errors.at(size_t(kept.error)));
        }
        const bool inOrder = std::is_sorted(m_kept.begin(), m_kept.end(), earlier);
        if (m_room < 0 && inOrder) {
            m_count += qint64(m_kept.size()); // where they are already
            return {};
        }
        if (m_room < 0) {
            m_texts = m_out.sliced(m_start); // taken out, to be put back in order
            m_out.truncate(m_start);
            for (Kept &kept : m_kept)
                kept.at -= m_start;
        }
        if (!inOrder)
            std::sort(m_kept.begin(), m_kept.end(), earlier);
        qsizetype bytes = m_out.size();
        for (const Kept &kept : m_kept)
            bytes += kept.size + 1;
        m_out.reserve(bytes);
        for (const Kept &kept : m_kept) {
            if (m_count++ > 0)
                m_out += ',';
            m_out += QByteArrayView(m_texts).sliced(kept.at, kept.size);
        }
        return {};
    }

private:
    struct Kept
    {
        Key key;
        qsizetype at;   // its text in m_out (no bound) or m_texts
        qsizetype size;
        int error;      // into m_errors, or -1
    };
    static bool earlier(const Kept &a, const Kept &b) { return a.key < b.key; }

    // Drops the texts of the results no longer kept.
    void compact()
    {
        QByteArray texts;
        texts.reserve(m_texts.size() - m_garbage);
        for (Kept &kept : m_kept) {
            const qsizetype at = texts.size();
            texts += QByteArrayView(m_texts).sliced(kept.at, kept.size);
            kept.at = at;
        }
        m_texts = std::move(texts);
        m_garbage = 0;
    }

    QByteArray &m_out;
    qint64 &m_count;
    qint64 m_room;
    qsizetype m_start;          // where this scan's results begin in m_out
    QByteArray m_texts;         // with a bound: the texts of those kept (and some dropped)
    qsizetype m_garbage = 0;    // bytes of m_texts no result holds
    std::vector<Kept> m_kept;   // while bounded, a heap with the latest kept on top
    std::vector<Error> m_errors;
};

} // namespace

// One `data.query`: the compiled predicate and select, and what the candidates gave so far.
// Only records kept as results are written out: a query over a large store holds no more.
struct QueryRun
{
    Query::Predicate predicate;
    std::optional<QStringList> types; // the model types the predicate can match (all: nullopt)
    std::optional<Query::Predicate> select;
    qint64 limit = -1;
    QDateTime now;
    bool rows = false; // steps and leases read from rows are written as rows (the rows form)
    QByteArray results; // the answer so far: its results' JSON texts, comma-separated, in order
    qint64 kept = 0;
    qint64 candidates = 0;
    qint64 total = 0;
    std::optional<Error> firstError;
    std::optional<Error> selectError;

    std::optional<Query::Predicate> scoped; // the predicate for the model being read (forModelType())
    std::optional<Query::Predicate> scopedRows; // the same for the rows its scan gives (knowingTrue())

    // Whether the predicate can match records of `model`; then they are the ones read next.
    // `holds`: which of its attribute equalities every row the model's scan gives holds.
    bool wants(const QString &model, bool (*holds)(const QString &, const QJsonValue &) = nullptr)
    {
        if (types && !types->contains(model))
            return false;
        scoped = predicate.forModelType(model);
        scopedRows.reset();
        if (holds)
            scopedRows = scoped->knowingTrue(holds);
        return true;
    }
    // How many more results may be kept (-1: any number).
    qint64 room() const { return limit < 0 ? -1 : std::max<qint64>(0, limit - kept); }

    // Whether `record` (a QJsonObject or a Query::Record) matches; counts it.
    template <typename Record>
    bool matches(const Record &record) { return matchesBy(scoped ? *scoped : predicate, record); }
    // The same for a row the model's scan gave.
    template <typename Row>
    bool rowMatches(const Row &row) { return matchesBy(scopedRows ? *scopedRows : scoped ? *scoped : predicate, row); }
    template <typename Record>
    bool matchesBy(const Query::Predicate &scopedPredicate, const Record &record)
    {
        ++candidates;
        auto matched = scopedPredicate.matches(record, now);
        if (!matched) {
            // A record the predicate cannot decide (e.g. a missing label) does not match.
            if (!firstError)
                firstError = matched.error();
            return false;
        }
        total += *matched ? 1 : 0;
        return *matched;
    }

    // Appends the text of a kept result to `out`: the record's (`write(out)`), or with --select
    // its projection.
    template <typename Record, typename Write>
    Result<void> writeResult(QByteArray &out, const Record &record, Write write) const
    {
        if (!select) {
            write(out);
            return {};
        }
        auto value = select->evaluate(record, now);
        if (!value)
            return fail(value.error());
        out += valueText(*value);
        return {};
    }

    void append(const QByteArray &text)
    {
        if (kept++ > 0)
            results += ',';
        results += text;
    }

    // A record of a model with few records, read in order.
    void consider(const QJsonObject &record)
    {
        if (!matches(record) || room() == 0)
            return;
        QByteArray text;
        auto written = writeResult(text, record, [&](QByteArray &out) { out = QJsonDocument(record).toJson(QJsonDocument::Compact); });
        if (written)
            append(text);
        else if (!selectError)
            selectError = written.error();
    }

    void consider(const QString &modelType, const QString &name, const QString &id, const QJsonObject &attributes)
    {
        consider(makeRecord(modelType, name, id, attributes.value(QStringLiteral("createdAt")),
                            attributes.value(QStringLiteral("updatedAt")), attributes));
    }

    // Results kept in order by a scan, which writes them into the answer itself.
    OrderedResults ordered() { return OrderedResults(results, kept, room()); }
    void finish(OrderedResults &ordered)
    {
        if (auto finished = ordered.finish(); !finished && !selectError)
            selectError = finished.error();
    }
};

QueryService::QueryService(Store *store, const StateView *view)
    : m_store(store)
    , m_view(view)
{
}

Result<QByteArray> QueryService::dataQuery(const QJsonObject &params, QByteArray head) const
{
    QElapsedTimer timer;
    timer.start();
    const QString text = params.value(QStringLiteral("predicate")).toString();
    auto predicate = Query::Predicate::compile(text);
    if (!predicate)
        return fail(predicate.error());
    QueryRun run{*predicate, predicate->modelTypes(), {}, params.value(QStringLiteral("limit")).toInteger(-1),
                 QDateTime::currentDateTimeUtc()};
    const QString selectText = params.value(QStringLiteral("select")).toString();
    if (!selectText.isEmpty()) {
        auto compiled = Query::Predicate::compile(selectText);
        if (!compiled) {
            Error error = compiled.error();
            error.details.insert(QStringLiteral("in"), QStringLiteral("select"));
            return fail(error);
        }
        run.select = *compiled;
    }
    // The rows form is for records; a --select's results are its values, written as they are.
    run.rows = !run.select && params.value(QStringLiteral("rows")).toBool();
    // The answer is written as the results come, after what is known first (the keys are in
    // protocol.md's order, not sorted: a JSON object's keys have none).
    JsonObjectWriter known(std::move(head));
    known.add("predicate"_L1, text);
    if (run.select)
        known.add("select"_L1, selectText);
    if (run.rows)
        known.addRaw("tables"_L1, tablesText());
    run.results = known.finish();
    run.results.chop(1); // the closing brace: more follows
    run.results += ",\"results\":[";
    if (auto visited = visitCandidates(run); !visited)
        return fail(visited.error());
    if (run.selectError)
        return fail(*run.selectError);
    // A predicate that errors on every candidate is a mistake worth reporting, not "no results".
    if (run.total == 0 && run.firstError && run.firstError->code != u"query_runtime")
        return fail(*run.firstError);
    QByteArray answer = std::move(run.results);
    answer += "],\"total\":" + QByteArray::number(run.total) + ",\"limited\":"
              + (run.limit >= 0 && run.total > run.limit ? "true" : "false") + '}';
    qCDebug(lcAdmin) << "data.query" << run.candidates << "candidates," << run.total << "matched," << answer.size()
                     << "bytes in" << timer.elapsed() << "ms";
    return answer;
}

Result<void> QueryService::visitCandidates(QueryRun &run) const
{
    if (run.wants(WorkerModel)) {
        auto workers = m_view->currentWorkers();
        if (!workers)
            return fail(workers.error());
        const QString status = equality(run.predicate, QStringLiteral("status"));
        for (const WorkerRecord &w : std::as_const(*workers)) {
            if (status.isEmpty() || workerStatusName(w.status) == status)
                run.consider(WorkerModel, w.name, w.id, w.toJson());
        }
    }
    if (run.wants(TokenModel)) {
        auto visited = m_view->forEachTokenJson(run.now, [&](const TokenRecord &t, const QJsonObject &json) {
            run.consider(TokenModel, t.name, t.id, json);
        });
        if (!visited)
            return fail(visited.error());
    }
    if (run.wants(StepModel, &StepRow::holdsEquality)) {
        if (auto visited = visitSteps(run); !visited)
            return visited;
    }
    if (run.wants(LeaseModel, &LeaseRow::holdsEquality)) {
        if (auto visited = visitLeases(run); !visited)
            return visited;
    }
    if (run.wants(RunModel)) {
        if (auto visited = visitRuns(run); !visited)
            return visited;
    }
    if (run.wants(AuditModel)) {
        auto records = m_store->auditRecordsMatching(run.predicate.attributeEqualities());
        if (!records)
            return fail(records.error());
        for (const AuditRecord &r : std::as_const(*records)) {
            QJsonObject json = r.toJson();
            json.insert(QStringLiteral("createdAt"), isoUtc(r.at));
            json.insert(QStringLiteral("updatedAt"), isoUtc(r.at));
            run.consider(AuditModel, r.workerName.isEmpty() ? r.tokenName : r.workerName, QString::number(r.id), json);
        }
    }
    return {};
}

Result<void> QueryService::visitSteps(QueryRun &run) const
{
    OrderedResults ordered = run.ordered();
    qint64 read = 0;
    // A step memory holds is open: an ended one in the store is not (its row is written first).
    // The scan decides on the columns the predicate reads (inside SQLite); the rows it keeps,
    // open ones and matches, come whole.
    const auto keep = [&](const StepRow &row) { return row.isOpen() || run.rowMatches(row); };
    auto visited = m_store->forEachStepRow(run.predicate.attributeEqualities(), run.predicate.fieldsRead(), keep,
                                           [&](const StepRow &row) {
        const OrderedResults::Key key{row.createdAtMs(), row.seq(), read++};
        const bool isOpen = row.isOpen();
        const std::optional<StepRecord> open = isOpen ? m_view->openStep(row.id()) : std::nullopt;
        if (open) {
            // Memory holds this one (open, one orchestrator): it is what the step is.
            const QJsonObject record = stepJson(*open);
            if (run.matches(record) && ordered.wouldKeep(key)) {
                ordered.keep(key, [&](QByteArray &out) {
                    return run.writeResult(out, record, [&](QByteArray &text) { text += stepText(*open); });
                });
            }
            return;
        }
        if (isOpen && !run.rowMatches(row)) // open in the store only: keep() did not ask
            return;
        if (ordered.wouldKeep(key)) {
            ordered.keep(key, [&](QByteArray &out) {
                return run.writeResult(out, row, [&](QByteArray &text) {
                    run.rows ? row.appendRowText(text, StepTable) : row.appendRecordText(text);
                });
            });
        }
    });
    if (!visited)
        return fail(visited.error());
    run.finish(ordered);
    return {};
}

Result<void> QueryService::visitLeases(QueryRun &run) const
{
    OrderedResults ordered = run.ordered();
    qint64 read = 0;
    const auto keep = [&](const LeaseRow &row) { return run.rowMatches(row); };
    auto visited = m_store->forEachLeaseRow(run.predicate.attributeEqualities(), run.predicate.fieldsRead(), keep,
                                            [&](const LeaseRow &row) {
        if (const OrderedResults::Key key{row.createdAtMs(), 0, read++}; ordered.wouldKeep(key)) {
            ordered.keep(key, [&](QByteArray &out) {
                return run.writeResult(out, row, [&](QByteArray &text) {
                    run.rows ? row.appendRowText(text, LeaseTable) : row.appendRecordText(text);
                });
            });
        }
    });
    if (!visited)
        return fail(visited.error());
    run.finish(ordered);
    return {};
}

Result<void> QueryService::visitRuns(QueryRun &run) const
{
    auto runs = m_store->runs();
    auto byRun = m_store->stepCountsByRun();
    if (!runs)
        return fail(runs.error());
    if (!byRun)
        return fail(byRun.error());
    for (const RunRecord &r : std::as_const(*runs)) {
        QJsonObject json = r.toJson();
        const QHash<QString, int> stepCounts = byRun->value(r.id);
        int steps = 0;
        for (int n : stepCounts)
            steps += n;
        json.insert(QStringLiteral("steps"), steps);
        json.insert(QStringLiteral("succeeded"), stepCounts.value(QStringLiteral("succeeded")));
        json.insert(QStringLiteral("failed"), stepCounts.value(QStringLiteral("failed"))
                                                  + stepCounts.value(QStringLiteral("timed_out")));
        run.consider(RunModel, r.name, r.id, json);
    }
    return {};
}

} // namespace Swamp
