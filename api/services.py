"""The scoring API's services: the framework's generic ones bound to each model.

A resource is four lines here; everything else (pagination, validation,
status codes, OpenAPI descriptions) comes from otuserver.web and otuserver.db.
The services know no paths: routes.py binds each one to its URL.
"""

from otuserver.web import DetailAPIService, ListCreateAPIService

from .models import Interests, Score


class InterestsList(ListCreateAPIService):
    model = Interests


class InterestsDetail(DetailAPIService):
    model = Interests


class ScoreList(ListCreateAPIService):
    model = Score


class ScoreDetail(DetailAPIService):
    model = Score
