#pragma once

#include <QLabel>

#include <functional>

class QAbstractItemModel;
class QAbstractItemView;

namespace Swamp::Console {

class AdminSession;

// What a table says in its viewport while it shows no rows, instead of a blank grid: with no
// records at all, what to do first (the guidance the CLI prints for an empty list); when a filter
// hides every record, that it does; while the console is not connected, that it is not.
class EmptyState final : public QLabel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EmptyState)

public:
    // `source` is the unfiltered model under the view's; `session` may be null (always online).
    // `guidance` is called on each change (it may mention what changes, like the URL).
    EmptyState(QAbstractItemView *view, QAbstractItemModel *source, const AdminSession *session,
               std::function<QString()> guidance, const QString &filtered);

    // Shows or hides the text for the rows there are now.
    void refresh();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void place();

    QAbstractItemView *m_view;
    QAbstractItemModel *m_source;
    const AdminSession *m_session;
    std::function<QString()> m_guidance;
    QString m_filtered;
};

} // namespace Swamp::Console
