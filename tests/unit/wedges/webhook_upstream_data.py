# ruff: noqa: E501
"""Data of bodhi-messages' and noggin-messages' own tests, transcribed (data only, no code).

- ``BODHI``: https://github.com/fedora-infra/bodhi at 2afdbd08d8294024d773b4a944bbc1711ce5a4db,
  ``bodhi-messages/tests/test_update.py``: per test, the schema class it builds, the ``body``
  it builds it from, and the literal values of its ``expected`` (topic, summary, ``__str__``,
  url, usernames, packages, agent_name where given).
- ``NOGGIN``: noggin-messages 1.1.0 (https://github.com/fedora-infra/noggin-messages),
  ``noggin_messages/tests/test_schemas.py``: per test, the class, the body and the topic,
  summary, ``__str__``, usernames and agent_name it asserts.
"""

from typing import Any

BODHI: dict[str, dict[str, Any]] = {'test_eject_v1': {'schema_class': 'UpdateEjectV1',
                   'body': {'agent': 'mohanboddu',
                            'update': {'alias': 'FEDORA-2019-2b055f8870',
                                       'builds': [{'release_id': 28,
                                                   'nvr': 'xstream-1.4.11.1-2.fc30',
                                                   'signed': True,
                                                   'epoch': 0,
                                                   'ci_url': None,
                                                   'type': 'rpm'}],
                                       'locked': True,
                                       'title': 'xstream-1.4.11.1-2.fc30',
                                       'release': {'name': 'F30'},
                                       'request': None,
                                       'status': 'testing',
                                       'user': {'name': 'mbooth'}},
                            'reason': 'some reason',
                            'release': {'dist_tag': 'fc30',
                                        'long_name': 'Fedora 30',
                                        'name': 'F30'},
                            'request': 'testing',
                            'repo': 'test_repo'},
                   'expected': {'topic': 'bodhi.update.eject',
                                'summary': "mbooth's xstream-1.4.11.1-2.fc30 bodhi update was "
                                           'ejected from the test_repo mash. Reason: "some reason"',
                                '__str__': "mbooth's xstream-1.4.11.1-2.fc30 bodhi update was "
                                           'ejected from the test_repo mash. Reason: "some reason"',
                                'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-2b055f8870',
                                'usernames': ['mbooth', 'mohanboddu'],
                                'packages': ['xstream']}},
 'test_complete_stable_v1': {'schema_class': 'UpdateCompleteStableV1',
                             'body': {'update': {'alias': 'FEDORA-2019-d64d0caab3',
                                                 'builds': [{'nvr': 'golang-github-SAP-go-hdb-0.14.1-1.fc29'},
                                                            {'nvr': 'texworks-0.6.3-1.fc29'}],
                                                 'title': 'fedmsg-0.2.7-2.el6',
                                                 'release': {'name': 'F29'},
                                                 'request': None,
                                                 'status': 'stable',
                                                 'user': {'name': 'eclipseo'}},
                                      'agent': 'mohanboddu'},
                             'expected': {'topic': 'bodhi.update.complete.stable',
                                          'summary': "eclipseo's "
                                                     'golang-github-SAP-go-hdb-0.14.1-1.fc29 t… '
                                                     'bodhi update completed push to stable',
                                          '__str__': "eclipseo's Bodhi update "
                                                     'FEDORA-2019-d64d0caab3 completed push to '
                                                     'stable\n'
                                                     'Builds:\n'
                                                     'golang-github-SAP-go-hdb-0.14.1-1.fc29\n'
                                                     'texworks-0.6.3-1.fc29 ',
                                          'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-d64d0caab3',
                                          'usernames': ['eclipseo', 'mohanboddu'],
                                          'packages': ['golang-github-SAP-go-hdb', 'texworks']}},
 'test_complete_testing_v1': {'schema_class': 'UpdateCompleteTestingV1',
                              'body': {'update': {'alias': 'FEDORA-2019-d64d0caab3',
                                                  'builds': [{'nvr': 'golang-github-SAP-go-hdb-0.14.1-1.fc29'},
                                                             {'nvr': 'texworks-0.6.3-1.fc29'}],
                                                  'title': 'fedmsg-0.2.7-2.el6',
                                                  'release': {'name': 'F29'},
                                                  'request': None,
                                                  'status': 'testing',
                                                  'user': {'name': 'eclipseo'}},
                                       'agent': 'mohanboddu'},
                              'expected': {'topic': 'bodhi.update.complete.testing',
                                           'summary': "eclipseo's "
                                                      'golang-github-SAP-go-hdb-0.14.1-1.fc29 t… '
                                                      'bodhi update completed push to testing',
                                           '__str__': "eclipseo's Bodhi update "
                                                      'FEDORA-2019-d64d0caab3 completed push to '
                                                      'testing\n'
                                                      'Builds:\n'
                                                      'golang-github-SAP-go-hdb-0.14.1-1.fc29\n'
                                                      'texworks-0.6.3-1.fc29 ',
                                           'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-d64d0caab3',
                                           'usernames': ['eclipseo', 'mohanboddu'],
                                           'packages': ['golang-github-SAP-go-hdb', 'texworks']}},
 'test_request_stable_v1': {'schema_class': 'UpdateRequestStableV1',
                            'body': {'agent': 'lmacken',
                                     'update': {'alias': 'FEDORA-2019-d64d0caab3',
                                                'builds': [{'nvr': 'golang-github-SAP-go-hdb-0.14.1-1.fc29'}],
                                                'release': {'name': 'F29'},
                                                'request': 'stable',
                                                'status': 'testing',
                                                'user': {'name': 'eclipseo'}}},
                            'expected': {'topic': 'bodhi.update.request.stable',
                                         'summary': "lmacken submitted eclipseo's update "
                                                    'FEDORA-2019-d64d0caab3 '
                                                    '(golang-github-SAP-go-hdb-0.14.1-1.fc29) to '
                                                    'stable',
                                         '__str__': "lmacken submitted eclipseo's update "
                                                    'FEDORA-2019-d64d0caab3 to stable.\n'
                                                    'Builds:\n'
                                                    'golang-github-SAP-go-hdb-0.14.1-1.fc29',
                                         'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-d64d0caab3',
                                         'usernames': ['eclipseo', 'lmacken'],
                                         'packages': ['golang-github-SAP-go-hdb']}},
 'test_request_testing_v1': {'schema_class': 'UpdateRequestTestingV1',
                             'body': {'agent': 'eclipseo',
                                      'update': {'alias': 'FEDORA-2019-f1ca3c00e5',
                                                 'builds': [{'nvr': 'golang-github-Masterminds-semver-2.0.0-0.1.20190319git3c92f33.fc29'}],
                                                 'release': {'name': 'F29'},
                                                 'request': 'testing',
                                                 'status': 'pending',
                                                 'user': {'name': 'eclipseo'}}},
                             'expected': {'topic': 'bodhi.update.request.testing',
                                          'summary': 'eclipseo submitted their update '
                                                     'FEDORA-2019-f1ca3c00e5 '
                                                     '(golang-github-Masterminds-semver-2.0.0-0…) '
                                                     'to testing',
                                          '__str__': 'eclipseo submitted their update '
                                                     'FEDORA-2019-f1ca3c00e5 to testing.\n'
                                                     'Builds:\n'
                                                     'golang-github-Masterminds-semver-2.0.0-0.1.20190319git3c92f33.fc29',
                                          'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-f1ca3c00e5',
                                          'usernames': ['eclipseo'],
                                          'packages': ['golang-github-Masterminds-semver']}},
 'test_requirements_met_stable_v1': {'schema_class': 'UpdateRequirementsMetStableV1',
                                     'body': {'update': {'alias': 'FEDORA-2019-f1ca3c00e5',
                                                         'builds': [{'nvr': 'golang-github-Masterminds-semver-2.0.0-0.1.20190319git3c92f33.fc29'}],
                                                         'release': {'name': 'F29'},
                                                         'request': 'testing',
                                                         'status': 'pending',
                                                         'user': {'name': 'eclipseo'}}},
                                     'expected': {'topic': 'bodhi.update.requirements_met.stable',
                                                  'summary': "eclipseo's "
                                                             'golang-github-Masterminds-semver-2.0.0-0… '
                                                             'bodhi update has met stable testing '
                                                             'requirements',
                                                  '__str__': "eclipseo's Bodhi update "
                                                             'FEDORA-2019-f1ca3c00e5 has met '
                                                             'stable testing requirements.\n'
                                                             'Builds:\n'
                                                             'golang-github-Masterminds-semver-2.0.0-0.1.20190319git3c92f33.fc29',
                                                  'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-f1ca3c00e5',
                                                  'usernames': ['eclipseo'],
                                                  'packages': ['golang-github-Masterminds-semver']}},
 'test_comment_v1': {'schema_class': 'UpdateCommentV1',
                     'body': {'comment': {'karma': -1,
                                          'text': "Can you believe how much testing we're doing? "
                                                  '/cc @codeblock.\n'
                                                  'Nothing from this e-mail should match the '
                                                  'regex: test@example.com',
                                          'timestamp': '2019-03-18 16:54:48',
                                          'update': {'alias': 'FEDORA-EPEL-2019-f2d195dada',
                                                     'builds': [{'nvr': 'abrt-addon-python3-2.1.11-50.el7'},
                                                                {'nvr': 'asciinema-1.4.0-2.el7'}],
                                                     'status': 'pending',
                                                     'release': {'name': 'F29'},
                                                     'request': 'testing',
                                                     'user': {'name': 'tdawson'}},
                                          'user': {'name': 'ralph'}}},
                     'expected': {'topic': 'bodhi.update.comment',
                                  'summary': 'ralph commented on update '
                                             'abrt-addon-python3-2.1.11-50.el7 asciine… (karma: '
                                             '-1)',
                                  '__str__': "ralph commented on tdawson's update "
                                             'FEDORA-EPEL-2019-f2d195dada with karma -1:\n'
                                             '\n'
                                             "Can you believe how much testing we're doing? /cc "
                                             '@codeblock.\n'
                                             'Nothing from this e-mail should match the regex: '
                                             'test@example.com\n'
                                             '\n'
                                             'Builds:\n'
                                             'abrt-addon-python3-2.1.11-50.el7\n'
                                             'asciinema-1.4.0-2.el7',
                                  'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-EPEL-2019-f2d195dada',
                                  'usernames': ['codeblock', 'ralph', 'tdawson'],
                                  'packages': ['abrt-addon-python3', 'asciinema'],
                                  'agent_name': 'ralph'}},
 'test_edit_v2': {'schema_class': 'UpdateEditV2',
                  'body': {'new_bugs': [1708925, 1706626],
                           'new_builds': ['tzdata-2014i-1.fc19'],
                           'removed_builds': ['tzdata-2014h-1.fc19'],
                           'update': {'close_bugs': True,
                                      'pushed': False,
                                      'require_testcases': True,
                                      'critpath': False,
                                      'stable_karma': 3,
                                      'date_pushed': None,
                                      'requirements': 'rpmlint',
                                      'severity': 'unspecified',
                                      'title': 'tzdata-2014i-1.fc19',
                                      'suggest': 'unspecified',
                                      'require_bugs': True,
                                      'comments': [{'bug_feedback': [],
                                                    'user_id': 1681,
                                                    'timestamp': '2015-01-28 03:02:44',
                                                    'testcase_feedback': [],
                                                    'karma_critpath': 0,
                                                    'update': 54046,
                                                    'update_id': 54046,
                                                    'karma': 0,
                                                    'anonymous': False,
                                                    'text': 'ralph edited this update. ',
                                                    'id': 484236,
                                                    'user': {'buildroot_overrides': [],
                                                             'name': 'bodhi',
                                                             'avatar': None}}],
                                      'date_approved': None,
                                      'type': 'enhancement',
                                      'status': 'pending',
                                      'date_submitted': '2014-10-29 20:02:57',
                                      'unstable_karma': -3,
                                      'user': {'buildroot_overrides': [],
                                               'name': 'ralph',
                                               'avatar': None},
                                      'locked': False,
                                      'builds': [{'override': None, 'nvr': 'tzdata-2014i-1.fc19'}],
                                      'date_modified': '2015-01-28 03:02:55',
                                      'notes': 'the update notes go here...',
                                      'request': 'testing',
                                      'bugs': [],
                                      'alias': 'FEDORA-2019-7dbbb74a13',
                                      'karma': 0,
                                      'release': {'dist_tag': 'f19',
                                                  'name': 'F19',
                                                  'testing_tag': 'f19-updates-testing',
                                                  'pending_stable_tag': 'f19-updates-pending',
                                                  'long_name': 'Fedora 19',
                                                  'state': 'disabled',
                                                  'version': None,
                                                  'override_tag': 'f19-override',
                                                  'branch': None,
                                                  'id_prefix': 'FEDORA',
                                                  'pending_testing_tag': 'f19-updates-testing-pending',
                                                  'stable_tag': 'f19-updates',
                                                  'candidate_tag': 'f19-updates-candidate'}},
                           'agent': 'ralph'},
                  'expected': {'topic': 'bodhi.update.edit',
                               'summary': 'ralph edited their update FEDORA-2019-7dbbb74a13 '
                                          '(tzdata-2014i-1.fc19)',
                               '__str__': 'ralph edited FEDORA-2019-7dbbb74a13 adding 2 new '
                                          'bug(s), adding 1 build(s), and removing 1 build(s)',
                               'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-2019-7dbbb74a13',
                               'usernames': ['ralph'],
                               'packages': ['tzdata']}},
 'test_karma_threshold_v1': {'schema_class': 'UpdateKarmaThresholdV1',
                             'body': {'status': 'stable',
                                      'update': {'close_bugs': True,
                                                 'pushed': False,
                                                 'require_testcases': True,
                                                 'critpath': False,
                                                 'stable_karma': 3,
                                                 'date_pushed': None,
                                                 'requirements': 'rpmlint',
                                                 'severity': 'unspecified',
                                                 'title': 'tzdata-2014i-1.fc19',
                                                 'suggest': 'unspecified',
                                                 'require_bugs': True,
                                                 'comments': [{'bug_feedback': [],
                                                               'user_id': 1681,
                                                               'timestamp': '2015-01-28 03:02:44',
                                                               'testcase_feedback': [],
                                                               'karma_critpath': 0,
                                                               'update': 54046,
                                                               'update_id': 54046,
                                                               'karma': 0,
                                                               'anonymous': False,
                                                               'text': 'ralph edited this update. ',
                                                               'id': 484236,
                                                               'user': {'buildroot_overrides': [],
                                                                        'name': 'bodhi',
                                                                        'avatar': None}}],
                                                 'date_approved': None,
                                                 'type': 'enhancement',
                                                 'status': 'pending',
                                                 'date_submitted': '2014-10-29 20:02:57',
                                                 'unstable_karma': -3,
                                                 'user': {'buildroot_overrides': [],
                                                          'name': 'ralph',
                                                          'avatar': None},
                                                 'locked': False,
                                                 'builds': [{'override': None,
                                                             'nvr': 'tzdata-2014i-1.fc19'}],
                                                 'date_modified': '2015-01-28 03:02:55',
                                                 'notes': 'the update notes go here...',
                                                 'request': 'testing',
                                                 'bugs': [],
                                                 'alias': 'FEDORA-EPEL-2015-0238',
                                                 'karma': 0,
                                                 'release': {'dist_tag': 'f19',
                                                             'name': 'F19',
                                                             'testing_tag': 'f19-updates-testing',
                                                             'pending_stable_tag': 'f19-updates-pending',
                                                             'long_name': 'Fedora 19',
                                                             'state': 'disabled',
                                                             'version': None,
                                                             'override_tag': 'f19-override',
                                                             'branch': None,
                                                             'id_prefix': 'FEDORA',
                                                             'pending_testing_tag': 'f19-updates-testing-pending',
                                                             'stable_tag': 'f19-updates',
                                                             'candidate_tag': 'f19-updates-candidate'}}},
                             'expected': {'topic': 'bodhi.update.karma.threshold.reach',
                                          'summary': "ralph's tzdata-2014i-1.fc19 bodhi update has "
                                                     'reached the stable karma threshold',
                                          '__str__': "ralph's bodhi update FEDORA-EPEL-2015-0238 "
                                                     'has reached the stable karma threshold.\n'
                                                     'Builds:\n'
                                                     'tzdata-2014i-1.fc19',
                                          'url': 'https://bodhi.fedoraproject.org/updates/FEDORA-EPEL-2015-0238',
                                          'usernames': ['ralph'],
                                          'packages': ['tzdata']}}}

_AGENT = "dudemcpants"
NOGGIN: dict[str, dict[str, Any]] = {
    "test_member_sponsor_v1": {
        "schema_class": "MemberSponsorV1",
        "body": {"msg": {"agent": "dudemcpants", "user": "testuser", "group": "developers"}},
        "expected": {"topic": "fas.group.member.sponsor",
                     "summary": "Sponsor dudemcpants added testuser to the groupdevelopers",
                     "__str__": "Sponsor dudemcpants added testuser to the groupdevelopers",
                     "usernames": ["dudemcpants", "testuser"], "agent_name": _AGENT},
    },
    "test_member_removed_v1": {
        "schema_class": "MemberRemovedV1",
        "body": {"msg": {"agent": "dudemcpants", "user": "testuser", "group": "developers"}},
        "expected": {"topic": "fas.group.member.removed",
                     "summary": "User dudemcpants removed user testuser from the groupdevelopers",
                     "__str__": "User dudemcpants removed user testuser from the groupdevelopers",
                     "usernames": ["dudemcpants", "testuser"], "agent_name": _AGENT},
    },
    "test_user_create_v1": {
        "schema_class": "UserCreateV1",
        "body": {"msg": {"agent": "dudemcpants", "user": "testuser"}},
        "expected": {"topic": "fas.user.create",
                     "summary": "dudemcpants created a new Fedora Account for testuser",
                     "__str__": "dudemcpants created a new Fedora Account for testuser",
                     "usernames": ["dudemcpants", "testuser"], "agent_name": _AGENT},
    },
    "test_user_update_v1": {
        "schema_class": "UserUpdateV1",
        "body": {"msg": {"agent": "dudemcpants", "user": "testuser",
                         "fields": ["firstname", "lastname", "gpgkeyid"]}},
        "expected": {"topic": "fas.user.update",
                     "summary": "dudemcpants edited 3 details of testuser's Fedora Account",
                     "__str__": ("dudemcpants edited 3 details of testuser's Fedora Account\n"
                                 "\nDetails changed: \n\nfirstname\nlastname\ngpgkeyid "),
                     "usernames": ["dudemcpants", "testuser"], "agent_name": _AGENT},
    },
}
