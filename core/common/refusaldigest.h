#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace Swamp {

// Decides which refusals (of an enrollment, an admin token, a frame for a lease that is not
// active) become operator events of their own and which are only counted, so that nobody without
// a secret can grow the database or the log by knocking: the first refusal of each key (an
// address, a worker) in a window is recorded, at most `maxEventsPerWindow` of them in all; the
// rest are counted and reported as one summary per key when the window is over (at most
// `maxSummaries` keys; the others together in one more). At most maxEventsPerWindow +
// maxSummaries + 1 events per window, whatever comes in. Keys are bounded too (`maxKeys`).
class RefusalDigest final
{
public:
    RefusalDigest(qint64 windowMs, int maxEventsPerWindow, int maxSummaries = 10,
                  qsizetype maxKeys = 65536);

    // True: record this refusal as an event now. False: it was counted for the summary.
    bool admit(const QString &key, qint64 nowMs);

    struct Summary
    {
        QString key;      // empty: the keys beyond maxSummaries, together
        int count = 0;    // refusals not recorded as events
        int keys = 1;     // how many keys this summary covers
    };
    // The summaries of a window that is over (empty while it runs); the next window starts.
    QList<Summary> takeSummaries(qint64 nowMs);

    qint64 windowMs() const { return m_windowMs; }

private:
    qint64 m_windowMs;
    int m_maxEvents;
    int m_maxSummaries;
    qsizetype m_maxKeys;
    qint64 m_windowStartMs = -1;
    int m_events = 0;
    int m_overflow = 0; // refusals of keys beyond maxKeys
    QHash<QString, int> m_counted; // key → refusals not recorded (0: seen, recorded as an event)
};

} // namespace Swamp
